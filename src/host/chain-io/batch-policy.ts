// When a node opens its next batch, as pure functions of what the host has seen. Under blocks on a
// clock (a chain with a block time), commands that arrive while several batches are in flight
// should still make the next block: one slot is kept for a batch sent just before the block is due.

/** How long a new batch may fill while others are in flight. */
export const LINGER_MS = 100;
/** How early before the next block is due the kept slot's batch is sent (signing, sending, the node's poll). */
export const FLUSH_LEAD_MS = 150;
/** Blocks at least this far apart are on a clock worth timing; faster ones (auto-mining under load) are not. */
export const CLOCKED_MIN_INTERVAL_MS = 4 * LINGER_MS;
/** Intervals kept for the estimate (its median, so a missed or a late block does not move it). */
const INTERVALS_KEPT = 9;

/** The chain head as the host saw it advance, and the intervals between blocks it measured. */
export type BlockClock = { head: bigint; seenAt: number; intervalsMs: readonly number[] };

/** The clock after seeing `head` at `now` (the same clock when the head has not moved). */
export function observeHead(clock: BlockClock | undefined, head: bigint, now: number): BlockClock {
  if (!clock) return { head, seenAt: now, intervalsMs: [] };
  if (head <= clock.head) return clock;
  const interval = (now - clock.seenAt) / Number(head - clock.head);
  return { head, seenAt: now, intervalsMs: [...clock.intervalsMs, interval].slice(-INTERVALS_KEPT) };
}

/** The block interval the clock has measured: the median of its intervals. */
export function blockIntervalMs(clock: BlockClock | undefined): number | undefined {
  if (!clock || clock.intervalsMs.length === 0) return undefined;
  const sorted = [...clock.intervalsMs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export type BatchPolicyInput = {
  now: number;
  /** When the host last sent a new batch. */
  lastOpenedAt: number;
  inFlight: number;
  queued: number;
  maxCommands: number;
  maxInFlight: number;
  clock: BlockClock | undefined;
};

/**
 * How many batches the enclave may have in flight after this call (it opens one if below that and
 * commands are queued): a new one opens when none is in flight, when a full batch is queued, or
 * after LINGER_MS; under clocked blocks the last slot opens only for a full batch or just before
 * the next block is due, so the commands that come late in a block interval still make it.
 */
export function batchesInFlightAllowed(p: BatchPolicyInput): number {
  if (p.inFlight === 0 || p.queued >= p.maxCommands) return p.maxInFlight;
  const interval = blockIntervalMs(p.clock);
  const clocked = interval !== undefined && interval >= CLOCKED_MIN_INTERVAL_MS && p.maxInFlight > 1;
  const lingered = p.now - p.lastOpenedAt >= LINGER_MS;
  const due = clocked && p.now >= p.clock!.seenAt + interval - FLUSH_LEAD_MS;
  if (due && (lingered || p.inFlight >= p.maxInFlight - 1)) return p.maxInFlight;
  if (!lingered) return Math.min(p.inFlight, p.maxInFlight);
  return clocked ? p.maxInFlight - 1 : p.maxInFlight;
}
