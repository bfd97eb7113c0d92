// A steady stream of token transfers (amount 1) from several senders, each always through the same
// node (a sender's nonces are counted by the node it sends to), paced to a total rate. Every attempt
// is counted; each one a node acknowledged (202) is handed on with its id and response key, so its
// receipt can be asked for. A failed attempt is not retried: the client reuses its nonce on the next
// one, as a wallet would after an error whose outcome it does not know.
import type { Hex, LocalAccount } from "viem";
import type { AnonifyClient } from "../../src/client/anonify-client.js";
import { firstLine } from "../../src/host/log.js";
import { until } from "../../test/support/wait.js";

/** Attempts a fault must meet before `hold` lets it end. */
const ATTEMPTS_PER_HOLD = 3;
/** How long past its length a hold may wait for those attempts before the stream counts as stuck. */
const HOLD_GRACE_MS = 120_000;

export type Sender = {
  account: LocalAccount;
  /** Receives every transfer of this sender: its balance is what the ledger moved. */
  recipient: LocalAccount;
  /** The node this sender sends to. */
  node: number;
  client: AnonifyClient;
};

export type Acknowledged = { sender: number; id: Hex; responseKey: Uint8Array };

export class TransferStream {
  attempts = 0;
  /** Acknowledged so far (each is handed to `onAcknowledged`, not kept: a soak sends tens of thousands). */
  acknowledged = 0;
  /** Failed attempts by their first line (connection refused, refusals): what the senders met. */
  readonly failures = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    readonly senders: readonly Sender[],
    /** Transfers per second over all senders. */
    readonly rate: number,
    /** Called with each acknowledged command as it comes (the receipt checker follows the stream). */
    private readonly onAcknowledged: (a: Acknowledged) => void,
  ) {
    const interval = (1000 * senders.length) / rate;
    // Staggered starts, so the senders do not all fire in the same millisecond.
    this.loops = senders.map((_, i) => this.loop(i, interval, (i * interval) / senders.length));
  }

  private async loop(index: number, interval: number, offset: number): Promise<void> {
    const sender = this.senders[index]!;
    let next = Date.now() + offset;
    while (this.running) {
      // Pacing, not waiting on a condition: this sender's next slot in the stream.
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      if (!this.running) return;
      // Slots missed while a request hung are dropped, not fired in a burst: the load stays steady.
      next = Math.max(next + interval, Date.now());
      this.attempts++;
      try {
        const sent = await sender.client.send("transfer", { to: sender.recipient.address, amount: "1" });
        this.acknowledged++;
        this.onAcknowledged({ sender: index, ...sent });
      } catch (error) {
        // Grouped by kind: the numbers in a message (a nonce) would make every one a kind of its own.
        const what = firstLine(error).replace(/\d+/g, "N");
        this.failures.set(what, (this.failures.get(what) ?? 0) + 1);
      }
    }
  }

  /** Resolves after `ms`, once the stream has also made a few attempts since the call. */
  async hold(ms: number): Promise<void> {
    const from = this.attempts;
    const end = Date.now() + ms;
    await until(
      `${ATTEMPTS_PER_HOLD} attempts and ${ms} ms`,
      () => (Date.now() >= end && this.attempts >= from + ATTEMPTS_PER_HOLD ? true : undefined),
      ms + HOLD_GRACE_MS,
    );
  }

  /** Resolves once `count` more commands were acknowledged than when it was called. */
  moreAcknowledged(count: number, timeoutMs: number): Promise<true> {
    const target = this.acknowledged + count;
    return until(
      `${count} more acknowledged transfers`,
      () => (this.acknowledged >= target ? true : undefined),
      timeoutMs,
    );
  }

  /** Stops sending; resolves once every sender's last request has ended. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
