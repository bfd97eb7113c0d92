// Follows a transfer stream (`add` each acknowledged command) and asks the node each was sent to for
// its receipt (long-polled, checked on chain by the client), a few at a time, while the stream runs:
// a long soak then ends with little left to ask. A node that is down (a crash, a restart) is asked again
// until the deadline that `settle` sets; a command that never shows an applied receipt is lost.
import type { CheckedReceipt } from "../../src/client/anonify-client.js";
import { firstLine } from "../../src/host/log.js";
import { until } from "../../test/support/wait.js";
import type { Acknowledged, Sender } from "./stream.js";

/** Receipt requests in flight at once: enough to keep up with the stream, few enough not to slow it. */
const CONCURRENCY = 4;
/** How long one status request asks the node to hold it until the command is ordered. */
const STATUS_WAIT_MS = 5_000;

export type ReceiptOutcome = { command: Acknowledged; receipt?: CheckedReceipt; error?: string };

/** What the receipts said: counts, and the commands without an applied receipt in full. */
export type ReceiptSummary = {
  checked: number;
  applied: number;
  /** Distinct sequences among the applied receipts as they stand at the end (fewer than `applied`: a command in two places). */
  appliedSequences: number;
  notApplied: ReceiptOutcome[];
};

export class ReceiptChecker {
  private readonly summary: ReceiptSummary = { checked: 0, applied: 0, appliedSequences: 0, notApplied: [] };
  private readonly sequences = new Set<bigint>();
  private readonly appliedOutcomes: ReceiptOutcome[] = [];
  private readonly queue: Acknowledged[] = [];
  private readonly workers: Promise<void>[];
  private deadline = Number.POSITIVE_INFINITY;
  private draining = false;

  constructor(private readonly senders: readonly Sender[]) {
    this.workers = Array.from({ length: CONCURRENCY }, () => this.work());
  }

  add(command: Acknowledged): void {
    this.queue.push(command);
  }

  private record(outcome: ReceiptOutcome): void {
    this.summary.checked++;
    if (outcome.receipt?.status !== "applied") return void this.summary.notApplied.push(outcome);
    this.summary.applied++;
    this.appliedOutcomes.push(outcome);
  }

  /**
   * Asks again for every applied receipt once the nodes have settled: a reorganisation may have
   * ordered a command again at another sequence after its first receipt was read, so only the
   * receipts as they stand at the end say whether two commands share one.
   */
  private async recheck(): Promise<void> {
    const pending = [...this.appliedOutcomes];
    const worker = async () => {
      for (let outcome = pending.shift(); outcome; outcome = pending.shift()) {
        const now = await this.receiptOf(outcome.command);
        if (now.receipt?.status === "applied") this.sequences.add(now.receipt.sequence);
        else {
          this.summary.applied--;
          this.summary.notApplied.push(now);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    this.summary.appliedSequences = this.sequences.size;
  }

  private async work(): Promise<void> {
    for (;;) {
      const command = await until(
        "an acknowledged command to check",
        () => this.queue.shift() ?? (this.draining ? null : undefined),
        Number.POSITIVE_INFINITY,
      );
      if (command === null) return;
      this.record(await this.receiptOf(command));
    }
  }

  private async receiptOf(command: Acknowledged): Promise<ReceiptOutcome> {
    const client = this.senders[command.sender]!.client;
    let last = "never asked";
    const receipt = await until(
      `the receipt of ${command.id}`,
      async () => {
        try {
          const status = await client.status(command.id, command.responseKey, STATUS_WAIT_MS);
          if (status.receipt) return status.receipt;
          last = `still ${status.status}`;
        } catch (error) {
          // The node is down or restarting: asked again, until the deadline.
          last = firstLine(error);
        }
        return Date.now() > this.deadline ? null : undefined;
      },
      Number.POSITIVE_INFINITY,
    );
    return receipt ? { command, receipt } : { command, error: last };
  }

  /** Checks what is left (the stream stopped), giving each command until `timeoutMs` from now. */
  async settle(timeoutMs: number): Promise<ReceiptSummary> {
    this.deadline = Date.now() + timeoutMs;
    this.draining = true;
    await Promise.all(this.workers);
    await this.recheck();
    return this.summary;
  }
}
