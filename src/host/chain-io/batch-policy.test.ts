import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BatchPolicyInput,
  type BlockClock,
  batchesInFlightAllowed,
  blockIntervalMs,
  FLUSH_LEAD_MS,
  LINGER_MS,
  observeHead,
} from "./batch-policy.js";

/** A clock that saw blocks every `intervalMs`, the last at `lastAt`. */
function clockOf(intervalMs: number, lastAt: number, blocks = 5): BlockClock {
  let clock: BlockClock | undefined;
  for (let i = blocks; i >= 0; i--) clock = observeHead(clock, BigInt(100 - i), lastAt - i * intervalMs);
  return clock!;
}

const base: BatchPolicyInput = {
  now: 10_000,
  lastOpenedAt: 10_000 - LINGER_MS,
  inFlight: 2,
  queued: 5,
  maxCommands: 64,
  maxInFlight: 6,
  clock: undefined,
};

describe("block clock", () => {
  it("measures the block interval by the median, per block when the head moves by several", () => {
    let clock = observeHead(undefined, 10n, 0);
    clock = observeHead(clock, 10n, 500); // the same head: nothing measured
    assert.equal(blockIntervalMs(clock), undefined);
    clock = observeHead(clock, 11n, 1000);
    clock = observeHead(clock, 13n, 3000); // two blocks in 2 s
    clock = observeHead(clock, 14n, 9000); // a late one does not move the median
    assert.equal(blockIntervalMs(clock), 1000);
    assert.equal(clock.seenAt, 9000);
  });
});

describe("batchesInFlightAllowed", () => {
  it("opens at once when nothing is in flight or a full batch is queued", () => {
    const fresh = { ...base, lastOpenedAt: base.now };
    assert.equal(batchesInFlightAllowed({ ...fresh, inFlight: 0 }), 6);
    assert.equal(batchesInFlightAllowed({ ...fresh, queued: 64 }), 6);
    assert.equal(batchesInFlightAllowed(fresh), 2, "otherwise a new batch lingers");
  });

  it("without a block clock (auto-mining), every slot opens after the linger", () => {
    assert.equal(batchesInFlightAllowed(base), 6);
    const fast = clockOf(50, base.now - 10);
    assert.equal(batchesInFlightAllowed({ ...base, clock: fast }), 6);
  });

  it("under clocked blocks keeps the last slot for a batch sent just before the next block", () => {
    const clock = clockOf(1000, 10_000);
    // Early in the interval: lingered batches may fill all but one slot.
    assert.equal(batchesInFlightAllowed({ ...base, clock, now: 10_300, lastOpenedAt: 10_100 }), 5);
    assert.equal(
      batchesInFlightAllowed({ ...base, clock, now: 10_300, lastOpenedAt: 10_100, inFlight: 5 }),
      5,
      "the kept slot stays free",
    );
    // Just before the next block is due, the kept slot opens, even without a linger.
    const due = 10_000 + 1000 - FLUSH_LEAD_MS;
    assert.equal(
      batchesInFlightAllowed({ ...base, clock, now: due, lastOpenedAt: due - 10, inFlight: 5 }),
      6,
    );
    // A full batch never waits for the clock.
    assert.equal(
      batchesInFlightAllowed({ ...base, clock, now: 10_300, lastOpenedAt: 10_290, inFlight: 5, queued: 64 }),
      6,
    );
  });
});
