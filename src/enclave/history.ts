// What an enclave remembers of the last positions of the contract's event sequence it applied: the
// event chain's head after each (its own history, as it was fed) and, where it held a complete
// ledger as a member, its state digest there. The contract keeps the heads of its last HEAD_WINDOW
// positions and takes a signed output only for a point among them, so these are the points other
// enclaves' signed outputs (batches, handshakes, snapshot commitments) can name: this enclave checks
// each signature against its own head there, and each state digest against its own.
import type { Hex } from "viem";
import { PersistentMap } from "../app/pmap.js";
import { ZERO_HASH } from "../protocol/digests.js";
import { HEAD_WINDOW } from "../protocol/event-chain.js";
import type { Session } from "./context.js";
import { ledgerRoot, stateDigestAt } from "./ledger-digest.js";

/** One position: the head after it and, if this enclave computed one there, its state digest. */
export type Point = { head: Hex; digest?: Hex };

/** The last HEAD_WINDOW positions applied, by position (persistent: a call swaps it in only once it succeeded). */
export type History = PersistentMap<bigint, Point>;

export const EMPTY_HISTORY: History = PersistentMap.empty();

/** The history with position `seq` (the newest) added and the one that left the window dropped. */
export function withPoint(history: History, seq: bigint, point: Point): History {
  return history.set(seq, point).delete(seq - HEAD_WINDOW);
}

/** The point at `seq`: position 0 is the zero hash (before any event); undefined if not held. */
export function pointAt(history: History, seq: bigint): Point | undefined {
  return seq === 0n ? { head: ZERO_HASH } : history.get(seq);
}

/**
 * This enclave's state digest at its cursor, computed there now if it was not (a lone member's group
 * is made with no event: the last event was applied before it was a member; a joiner just installed
 * its snapshot). Only while it is a member with a complete ledger; the same value any member computed
 * there, since no event came since (the group's key and the ledger are still those of that point).
 */
export function digestAtCursor(session: Session, app: Hex): Hex | undefined {
  const { cursor, group, ledger } = session;
  if (!cursor) return undefined;
  const seq = BigInt(cursor.seq);
  const known = pointAt(session.history, seq)?.digest;
  if (known || !group.group || !group.digestKey || ledger.syncing) return known;
  const digest = stateDigestAt(group.digestKey, { seq, head: cursor.head }, ledgerRoot(ledger, app));
  session.history = withPoint(session.history, seq, { head: cursor.head, digest });
  return digest;
}
