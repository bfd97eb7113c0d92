// Status requests waiting for their command to be ordered, woken by the applies that order them.
import type { Hex } from "viem";
import type { ApplyResult, CommandStatusAnswer } from "../../boundary/call-results.js";
import { MAX_STATUS_WAIT_MS } from "./command-status.js";

type Wake = (answer?: CommandStatusAnswer) => void;

/** What an apply reports of a command accepted here ("unknown" if the enclave holds nothing of it). */
export type SettledCommand = ApplyResult["settled"][number];

export class CommandWaiters {
  private readonly waiting = new Map<Hex, Set<Wake>>();

  /**
   * Resolves with the enclave's answer when it reports command `id` ordered, or with nothing after
   * `waitMs` (at most MAX_STATUS_WAIT_MS) or on `cancel`.
   */
  settled(id: Hex, waitMs: number): { done: Promise<CommandStatusAnswer | undefined>; cancel: () => void } {
    const waiting = this.waiting.get(id) ?? new Set();
    this.waiting.set(id, waiting);
    let wake: Wake = () => {};
    const done = new Promise<CommandStatusAnswer | undefined>((resolve) => {
      const timer = setTimeout(() => wake(), Math.min(waitMs, MAX_STATUS_WAIT_MS));
      wake = (answer) => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiting.get(id) === waiting) this.waiting.delete(id);
        resolve(answer);
      };
    });
    waiting.add(wake);
    return { done, cancel: () => wake() };
  }

  /** Wakes those waiting for a command an apply settled. */
  wake(settled: SettledCommand): void {
    for (const wake of [...(this.waiting.get(settled.id) ?? [])])
      wake(settled.status === "unknown" ? undefined : settled);
  }

  /** Ends every wait (the node is stopping): each answers with what the enclave holds now. */
  wakeAll(): void {
    for (const waiting of [...this.waiting.values()]) for (const wake of [...waiting]) wake();
  }
}
