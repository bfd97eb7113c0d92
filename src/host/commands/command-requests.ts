// A node's answers about commands: accepting a sealed one (kept sealed before the client hears 202)
// and telling its state, each able to wait until the command is ordered, or ordered and final.
import type { Hex } from "viem";
import type { CommandStatusAnswer } from "../../boundary/call-results.js";
import { isSettled } from "../../protocol/receipts.js";
import type { EnclaveCalls } from "../enclave-process.js";
import type { StageMetrics } from "../metrics.js";
import type { NodeMetrics } from "../node-metrics.js";
import type { SealedStore } from "../sealed-store.js";
import type { CommandFinality, NodeCommandStatus, WaitUntil } from "./command-finality.js";
import type { CommandWaiters } from "./command-waiters.js";

export type CommandRequestsDeps = {
  enclave: EnclaveCalls;
  metrics: StageMetrics;
  counts: NodeMetrics;
  waiters: CommandWaiters;
  finality: CommandFinality;
  /** Stores the accepted command's journal record (grouped with others of its tick). */
  store: Pick<SealedStore, "keepAccepted">;
  stopped: () => boolean;
};

export class CommandRequests {
  constructor(private readonly deps: CommandRequestsDeps) {}

  /**
   * Accepts a sealed command (a resend of one accepted before is answered alike). With `waitMs`,
   * answers once the command is ordered (or when the wait ends), as `commandStatus` would, so a
   * client needs one request, not two.
   */
  async submit(envelope: Hex, waitMs: number, until: WaitUntil): Promise<NodeCommandStatus> {
    const deadline = Date.now() + waitMs;
    const result = await this.deps.metrics
      .time("open-and-check", () => this.deps.enclave.call("submitCommand", { envelope }))
      .catch((error: unknown) => {
        this.deps.counts.commandRefused(error);
        throw error;
      });
    const id = result.id.toLowerCase() as Hex;
    // A resend of a command the enclave took before (its answer was lost on the way): nothing new to
    // keep or count; answered as its status is, at once if it is already ordered.
    if (result.repeated) return this.status(id, waitMs, until);
    // The accepted command's record is on disk before the client hears 202.
    await this.deps.store.keepAccepted(result.journal);
    this.deps.counts.commandAccepted(id);
    if (waitMs <= 0 || this.deps.stopped()) return { id, status: "queued" };
    // Registered before anything else runs here: its batch cannot be applied before this line.
    const settled = (await this.deps.waiters.settled(id, waitMs).done) ?? (await this.askCommandStatus(id));
    return this.deps.finality.answer(settled, until, deadline);
  }

  /**
   * A command's state; with `waitMs`, a queued or submitted command is answered once it is ordered
   * (or when the wait ends), so clients need not poll.
   */
  async status(id: Hex, waitMs: number, until: WaitUntil): Promise<NodeCommandStatus> {
    const deadline = Date.now() + waitMs;
    return this.deps.finality.answer(await this.orderedStatus(id, waitMs), until, deadline);
  }

  /** A command's state as the enclave answers it, once ordered or when the wait ends. */
  private async orderedStatus(id: Hex, waitMs: number): Promise<CommandStatusAnswer> {
    const key = id.toLowerCase() as Hex;
    if (waitMs <= 0 || this.deps.stopped()) return this.askCommandStatus(key);
    // Waiting before asking, so a settlement between the answer and the wait is not missed.
    const settled = this.deps.waiters.settled(key, waitMs);
    let now: CommandStatusAnswer;
    try {
      now = await this.askCommandStatus(key);
    } catch (error) {
      settled.cancel();
      throw error;
    }
    if (!isSettled(now.status)) return (await settled.done) ?? this.askCommandStatus(key);
    settled.cancel();
    return now;
  }

  private askCommandStatus(id: Hex): Promise<CommandStatusAnswer> {
    return this.deps.enclave.call("commandStatus", { id });
  }
}
