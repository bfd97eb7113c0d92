// Whether an ordered command is final, as the node says it: its batch is buried under the node's
// finality depth, or at or below the block the chain calls finalized (src/chain/finality.ts, the
// rule clients check for themselves). A status request may wait for `final` as it waits for
// `ordered`: the node looks again each time the chain it follows moves.
import type { Chain, PublicClient, Transport } from "viem";
import type { CommandStatusAnswer } from "../../boundary/call-results.js";
import { isFinal } from "../../chain/finality.js";
import { isSettled } from "../../protocol/receipts.js";
import type { NodeMetrics } from "../node-metrics.js";

/** A command's status as the API answers it: the enclave's answer, and `final` once it is ordered. */
export type NodeCommandStatus = CommandStatusAnswer & { final?: boolean };

/** What a status request waits for: ordered, or ordered and final. */
export type WaitUntil = "ordered" | "final";

export class CommandFinality {
  /** The head the node's follower last caught up to. */
  private head = -1n;
  private moved: (() => void)[] = [];

  constructor(
    private readonly chain: PublicClient<Transport, Chain>,
    private readonly depth: bigint,
    private readonly counts: NodeMetrics,
  ) {}

  /** The follower caught up to `head`: answers waiting for finality look again. */
  observe(head: bigint): void {
    this.head = head;
    this.counts.finalThrough(head - this.depth);
    for (const wake of this.moved.splice(0)) wake();
  }

  /** `answer` with `final` when it is ordered (its block named). */
  async of(answer: CommandStatusAnswer): Promise<NodeCommandStatus> {
    if (!isSettled(answer.status) || answer.block === undefined) return answer;
    const block = BigInt(answer.block);
    // A block past the head last seen was read since: ask the chain rather than say "not yet".
    const head = block <= this.head ? this.head : await this.chain.getBlockNumber({ cacheTime: 0 });
    return { ...answer, final: await isFinal(this.chain, block, head, this.depth) };
  }

  /**
   * `answer` with `final`; with `until: "final"`, once it is final or at `deadline` (ms since the
   * epoch), whichever comes first.
   */
  async answer(answer: CommandStatusAnswer, until: WaitUntil, deadline: number): Promise<NodeCommandStatus> {
    let now = await this.of(answer);
    while (until === "final" && now.final === false && Date.now() < deadline) {
      await this.nextHead(deadline);
      now = await this.of(answer);
    }
    return now;
  }

  /** Resolves when the followed chain moves, or at `deadline`. */
  private nextHead(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.moved.push(done);
    });
  }
}
