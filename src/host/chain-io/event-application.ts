// What the host does with the events its follower read: hands them to the enclave in calls of
// bounded size (event-feed.ts), keeps what each apply sealed, wakes the requests it settled, takes
// the snapshots it produced for joiners, and, while its own enclave waits for a snapshot, fetches it
// and applies the same events again.
import type { ApplyResult, Divergence } from "../../boundary/call-results.js";
import type { EventCursor, LedgerEvent } from "../../boundary/chain-events.js";
import type { AnonifyEvent } from "../../chain/follower.js";
import type { CommandWaiters } from "../commands/command-waiters.js";
import type { EnclaveCalls } from "../enclave-process.js";
import type { Logger } from "../log.js";
import type { StageMetrics } from "../metrics.js";
import type { NodeMetrics } from "../node-metrics.js";
import type { Keep, SealedStore } from "../sealed-store.js";
import type { SnapshotPublisher } from "../snapshots/snapshot-publisher.js";
import type { SnapshotSync } from "../snapshots/snapshot-sync.js";
import { inCalls, toLedgerEvent } from "./event-feed.js";
import type { PublicOutputs } from "./public-outputs.js";

export type EventApplicationDeps = {
  enclave: EnclaveCalls;
  store: SealedStore;
  keep: Keep;
  waiters: CommandWaiters;
  publisher: SnapshotPublisher;
  snapshotSync: SnapshotSync;
  metrics: StageMetrics;
  counts: NodeMetrics;
  stopped(): boolean;
  /** The enclave found its history or state is not the network's: it applies nothing more. */
  diverged(divergence: Divergence): void;
  /** Publishes the outputs records the enclave signs, and feeds it those on chain to check. */
  outputs?: PublicOutputs;
  /** Where the node says, once, that a signed policy upgraded the network's app away from its own. */
  log?: Logger;
};

export class EventApplication {
  /** The position of the last event the enclave applied: it refuses one applied twice. */
  private appliedSeq = 0n;
  /** Said once: the enclave's app was upgraded away from (it keeps following, applying no command). */
  private upgradeSaid = false;

  constructor(private readonly deps: EventApplicationDeps) {}

  /** Where the enclave stands (a restored checkpoint's cursor): the follower re-reads that block. */
  resumeAt(cursor: EventCursor | undefined): void {
    this.appliedSeq = cursor ? BigInt(cursor.seq) : 0n;
  }

  /**
   * A page's events in as few calls as fit: the enclave applies a block's batches back to back, not
   * interleaved with the commands and receipts its clients ask for meanwhile.
   */
  async apply(events: readonly AnonifyEvent[]): Promise<void> {
    const ledgerEvents = events.flatMap((e) => toLedgerEvent(e) ?? []);
    for (const chunk of inCalls(ledgerEvents.filter((e) => BigInt(e.seq) > this.appliedSeq))) {
      let pending: LedgerEvent[] = chunk;
      // A joiner stops before the first batch after its join until its snapshot is installed; the
      // rest of the events go again then.
      for (;;) {
        const applied = await this.call(pending);
        if (applied.diverged) return this.deps.diverged(applied.diverged);
        pending = pending.filter((e) => BigInt(e.seq) > this.appliedSeq);
        if (!applied.blocked || !applied.ledger.syncing || pending.length === 0) break;
        await this.deps.snapshotSync.ensure(applied.ledger.syncing);
        if (this.deps.stopped()) return; // the follower stops too; a restart resumes from the enclave's cursor
      }
    }
    // After the batches they are of: the enclave checks only batches it applied.
    await this.deps.outputs?.check(events);
  }

  private call(events: LedgerEvent[]): Promise<ApplyResult> {
    const { enclave, metrics } = this.deps;
    const call = () => enclave.call("applyEvents", { events });
    return this.applied(
      events.some((e) => e.kind === "BatchSubmitted") ? metrics.time("apply", call) : call(),
    );
  }

  /** Keeps what an apply sealed, wakes the requests it settled, and takes the snapshots it produced. */
  private async applied(pending: Promise<ApplyResult>): Promise<ApplyResult> {
    const applied = await pending;
    if (applied.cursor) this.appliedSeq = BigInt(applied.cursor.seq);
    this.deps.store.noteCursor(applied.cursor && BigInt(applied.cursor.block));
    this.deps.keep(applied);
    for (const settled of applied.settled) {
      if (settled.status === "ordered")
        this.deps.counts.commandOrdered(
          settled.id,
          settled.block === undefined ? undefined : BigInt(settled.block),
        );
      this.deps.waiters.wake(settled);
    }
    if (applied.upgraded && !this.upgradeSaid) {
      this.upgradeSaid = true;
      this.deps.log?.error(
        { event: applied.upgraded.seq, to: applied.upgraded.to },
        `app upgraded: ${applied.upgraded.reason} (this node still serves its state of then to the new version's joiners)`,
      );
    }
    if (applied.snapshots.length > 0) await this.deps.publisher.take(applied.snapshots);
    if (applied.outputs) this.deps.outputs?.take(applied.outputs);
    if (applied.ledger.syncing && !applied.blocked)
      void this.deps.snapshotSync.ensure(applied.ledger.syncing);
    return applied;
  }
}
