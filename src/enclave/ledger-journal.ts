// The ledger's journal: what a restarted enclave takes back of the commands it had accepted and not
// yet seen ordered (withJournal), so that no acknowledged command is lost or applied twice.
import type { Hex } from "viem";
import { type InFlight, type LedgerAppState, notOrdered, type Queued } from "./confidential-ledger.js";

/**
 * The commands a journal holds: the queue and batches in flight at its last snapshot, those
 * accepted after, and the batches in flight as last changed after it.
 */
export type JournalContents = {
  snapshot?: { queue: Queued[]; inFlight: InFlight[] };
  accepted: Queued[];
  /** The batches in flight as last journaled after the snapshot, if they changed since. */
  inFlight?: InFlight[];
  /** Commands of records from before the snapshot, oldest first (kept for a rollback). */
  earlier?: Queued[];
};

/**
 * The state after a restart: the checkpoint joined with the journal (which may be older or newer
 * than it). Every command either side holds is kept once, a command in the batch in flight is not
 * queued again, and what the checkpoint already applied is dropped; replaying the events after the
 * checkpoint then removes whatever else was ordered.
 */
export function withJournal(state: LedgerAppState, journal: JournalContents): LedgerAppState {
  let inFlight = (journal.inFlight ?? journal.snapshot?.inFlight ?? state.inFlight).filter(
    (b) => b.nonce >= state.ownBatches, // a batch the checkpoint saw ordered is no longer in flight
  );
  const seen = new Set(inFlight.flatMap((b) => b.commands.map((q) => q.digest)));
  const queue: Queued[] = [];
  // The checkpoint's batches in flight, and the journal's older records, are offered too: after a
  // reorganisation they hold commands whose batches the chain no longer has. Replaying the events
  // drops again whatever the canonical chain orders.
  const candidates = [
    ...state.inFlight.flatMap((b) => b.commands),
    ...state.queue,
    ...(journal.earlier ?? []),
    ...(journal.snapshot?.inFlight.flatMap((b) => b.commands) ?? []),
    ...(journal.snapshot?.queue ?? []),
    ...journal.accepted,
  ];
  for (const q of candidates) {
    if (seen.has(q.digest) || !notOrdered(state, q)) continue;
    seen.add(q.digest);
    queue.push(q);
  }
  // A batch in flight must not be ordered before a command of the same sender with a lower nonce
  // (it would fail there): if the queue holds one, the batches go back to the queue and are sealed
  // anew once the events are replayed (a copy of one already mined is applied when read, first).
  const firstQueued = new Map<Hex, bigint>();
  for (const q of queue)
    if ((firstQueued.get(q.sender) ?? q.nonce) >= q.nonce) firstQueued.set(q.sender, q.nonce);
  const behind = inFlight.some((b) =>
    b.commands.some((c) => (firstQueued.get(c.sender) ?? c.nonce) < c.nonce),
  );
  if (behind) {
    queue.push(...inFlight.flatMap((b) => b.commands));
    inFlight = [];
  }
  return { ...state, queue: inNonceOrder(queue), inFlight };
}

/**
 * The same commands, each sender's in nonce order in the places its commands held (the sources a
 * restore joins may interleave them otherwise), so a batch never applies a later nonce first.
 */
function inNonceOrder(queue: Queued[]): Queued[] {
  const bySender = new Map<Hex, Queued[]>();
  for (const q of queue) {
    const list = bySender.get(q.sender);
    if (list) list.push(q);
    else bySender.set(q.sender, [q]);
  }
  for (const list of bySender.values())
    list.sort((x, y) => (x.nonce < y.nonce ? -1 : x.nonce > y.nonce ? 1 : 0));
  const taken = new Map<Hex, number>();
  return queue.map((q) => {
    const i = taken.get(q.sender) ?? 0;
    taken.set(q.sender, i + 1);
    return bySender.get(q.sender)![i]!;
  });
}
