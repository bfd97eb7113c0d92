import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import erc20 from "../../apps/erc20/index.js";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import { MAX_QUEUED_PER_SENDER } from "../boundary/calls.js";
import { MAX_BATCHES_IN_FLIGHT } from "../protocol/batch.js";
import { HEAD_WINDOW } from "../protocol/event-chain.js";
import {
  admit,
  type InFlight,
  initialLedgerApp,
  type Queued,
  type StoredReceipt,
  settledHere,
} from "./confidential-ledger.js";
import { newestReceipts, nextBatches } from "./ledger-batches.js";
import { withJournal } from "./ledger-journal.js";
import { CommandRejected, type VerifiedCommand } from "./signed-messages.js";

const app: App<StateValue> = erc20;
const ALICE = `0x${"a1".repeat(20)}` as Hex;
const BOB = `0x${"b0".repeat(20)}` as Hex;

/** A queued command; only its identity, sender and nonce matter to the journal. */
function queued(sender: Hex, nonce: bigint): Queued {
  const tag = `${sender.slice(2, 4)}${nonce.toString(16).padStart(2, "0")}`;
  return { digest: `0x${tag.repeat(16)}` as Hex, sender, nonce, encoded: `0x${tag}` as Hex };
}

const a0 = queued(ALICE, 0n);
const a1 = queued(ALICE, 1n);
const a2 = queued(ALICE, 2n);
const b0 = queued(BOB, 0n);
const b1 = queued(BOB, 1n);

const SEALED_AT = {
  base: { seq: 7n, head: `0x${"07".repeat(32)}` as Hex },
  stateDigest: `0x${"d7".repeat(32)}` as Hex,
};

function inFlight(commands: Queued[], nonce: bigint): InFlight {
  return {
    commands,
    slot: 1n,
    mlsEpoch: 1n,
    nonce,
    ciphertext: "0x00",
    count: commands.length,
    ...SEALED_AT,
  };
}

const digests = (qs: Queued[]) => qs.map((q) => q.digest);

describe("the command journal joined with a checkpoint after a restart", () => {
  it("a checkpoint older than the snapshot: the batch in flight is not queued again", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [a0, b0] };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [b0, a1], inFlight: [inFlight([a0], 0n)] },
      accepted: [a2, b1],
    });
    assert.deepEqual(digests(restored.inFlight.flatMap((b) => b.commands)), digests([a0]));
    assert.deepEqual(digests(restored.queue), digests([b0, a1, a2, b1]));
  });

  it("a checkpoint newer than the snapshot: commands on both sides are kept once, in acceptance order", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [a0, b0, a1] };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [a0], inFlight: [] },
      accepted: [b0, a1, b1],
    });
    assert.deepEqual(digests(restored.queue), digests([a0, b0, a1, b1]));
    assert.deepEqual(restored.inFlight, []);
  });

  it("drops what the checkpoint already applied and a batch it saw ordered; a batch ahead of its sender's queue is queued", () => {
    const checkpoint = {
      ...initialLedgerApp(app),
      nonces: PersistentMap.from([[ALICE, 2n]]),
      ownBatches: 1n,
    };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [a1, b0], inFlight: [inFlight([a0], 0n), inFlight([b1], 1n)] },
      accepted: [a2],
    });
    // Bob's batch in flight would be ordered before his queued nonce 0 (and fail): it is queued again.
    assert.deepEqual(restored.inFlight, []);
    assert.deepEqual(digests(restored.queue), digests([b0, a2, b1]));
  });

  it("batches journaled after the snapshot replace its batches; their commands leave the queue", () => {
    const checkpoint = initialLedgerApp(app);
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [a0, b0, a1], inFlight: [] },
      accepted: [b1, a2],
      inFlight: [inFlight([a0, b0], 0n), inFlight([a1, b1], 1n)],
    });
    assert.deepEqual(
      restored.inFlight.map((b) => [b.nonce, digests(b.commands)]),
      [
        [0n, digests([a0, b0])],
        [1n, digests([a1, b1])],
      ],
    );
    assert.deepEqual(digests(restored.queue), digests([a2]));
  });

  it("without a journal the checkpoint's own queue and batches stand", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [b0], inFlight: [inFlight([a0], 0n)] };
    const restored = withJournal(checkpoint, { accepted: [] });
    assert.deepEqual(digests(restored.queue), digests([b0]));
    assert.deepEqual(digests(restored.inFlight.flatMap((b) => b.commands)), digests([a0]));
  });

  it("a reorganisation's rollback: commands of batches the chain lost come back, in each sender's nonce order", () => {
    // The checkpoint predates batches 0 and 1 (a0, a1 and b0); the journal's last record has batch 2
    // in flight (a2), and the records before its snapshot hold the rest.
    const checkpoint = { ...initialLedgerApp(app), queue: [a0] };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [], inFlight: [inFlight([a2], 2n)] },
      accepted: [b1],
      earlier: [a1, b0],
    });
    assert.deepEqual(restored.inFlight, [], "batch 2 would be ordered before a0 and a1");
    assert.deepEqual(digests(restored.queue), digests([a0, a1, b0, b1, a2]));
  });
});

describe("commands settled by an apply", () => {
  it("names the commands accepted here that no longer wait, and only those", () => {
    const before = { ...initialLedgerApp(app), queue: [b0, a1], inFlight: [inFlight([a0], 0n)] };
    const after = { ...before, queue: [a1], inFlight: [] };
    assert.deepEqual(settledHere(before, after), digests([b0, a0]));
    assert.deepEqual(settledHere(after, after), []);
  });
});

describe("batches in flight", () => {
  const context = (slot: bigint, at: bigint = 7n) => ({
    slot,
    mlsEpoch: slot,
    epochKey: new Uint8Array(32).fill(Number(slot)),
    domain: { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex },
    base: { seq: at, head: `0x${at.toString(16).padStart(64, "0")}` as Hex },
    stateDigest: `0x${(at + 1n).toString(16).padStart(64, "0")}` as Hex,
    holds: (base: { seq: bigint }) => base.seq !== DROPPED,
  });
  /** A point a rollback took away: this enclave's history no longer holds it. */
  const DROPPED = 3n;
  const start = { ...initialLedgerApp(app), ownBatches: 5n, queue: [a0, b0, a1, b1, a2] };
  const nonces = (state: { inFlight: InFlight[] }) => state.inFlight.map((b) => b.nonce);

  it("a new batch opens only while fewer than maxInFlight are in flight, with the next batch nonce", () => {
    const first = nextBatches(start, context(1n), { maxCommands: 2, maxInFlight: 2 });
    assert.deepEqual(nonces(first), [5n]);
    const second = nextBatches(first, context(1n), { maxCommands: 2, maxInFlight: 2 });
    assert.deepEqual(nonces(second), [5n, 6n]);
    assert.equal(second.inFlight[0], first.inFlight[0], "a batch in flight is offered unchanged");
    const full = nextBatches(second, context(1n), { maxCommands: 2, maxInFlight: 2 });
    assert.equal(full, second, "no room: nothing changes");
    assert.deepEqual(digests(full.queue), digests([a2]));
  });

  it("never more than MAX_BATCHES_IN_FLIGHT, whatever the host asks", () => {
    const many = Array.from({ length: 2 * MAX_BATCHES_IN_FLIGHT }, (_, i) => queued(ALICE, BigInt(i)));
    let state = { ...initialLedgerApp(app), queue: many };
    for (let i = 0; i < many.length; i++)
      state = nextBatches(state, context(1n), { maxCommands: 1, maxInFlight: 1000 });
    assert.equal(state.inFlight.length, MAX_BATCHES_IN_FLIGHT);
    assert.equal(state.queue.length, many.length - MAX_BATCHES_IN_FLIGHT);
  });

  it("a handshake before they land re-seals every batch in flight for the new epoch, same commands, same nonces", () => {
    let state = start;
    for (let i = 0; i < 2; i++) state = nextBatches(state, context(1n), { maxCommands: 2, maxInFlight: 2 });
    const before = state.inFlight;
    const after = nextBatches(state, context(2n), { maxCommands: 2, maxInFlight: 2 });
    assert.deepEqual(
      after.inFlight.map((b) => [b.nonce, b.slot]),
      [
        [5n, 2n],
        [6n, 2n],
      ],
    );
    assert.deepEqual(
      after.inFlight.map((b) => digests(b.commands)),
      before.map((b) => digests(b.commands)),
    );
    assert.notEqual(after.inFlight[0]!.ciphertext, before[0]!.ciphertext);
  });

  it("a batch in flight is signed at the point it was sealed at, and again at a newer one before the contract forgets it", () => {
    const sealed = nextBatches(start, context(1n, 7n), { maxCommands: 2, maxInFlight: 1 });
    assert.deepEqual(sealed.inFlight[0]?.base.seq, 7n);
    const soon = nextBatches(sealed, context(1n, 7n + HEAD_WINDOW / 2n), { maxCommands: 2, maxInFlight: 1 });
    assert.equal(soon, sealed, "within half the window: unchanged");
    const late = nextBatches(sealed, context(1n, 8n + HEAD_WINDOW / 2n), { maxCommands: 2, maxInFlight: 1 });
    assert.equal(late.inFlight[0]?.base.seq, 8n + HEAD_WINDOW / 2n);
    assert.equal(late.inFlight[0]?.stateDigest, context(1n, 8n + HEAD_WINDOW / 2n).stateDigest);
    assert.equal(
      late.inFlight[0]?.ciphertext,
      sealed.inFlight[0]?.ciphertext,
      "the same ciphertext, signed anew",
    );
    assert.equal(late.inFlight[0]?.nonce, sealed.inFlight[0]?.nonce);
    // Sealed at a point a reorganisation dropped: signed again at the cursor, whatever its age.
    const atDropped = nextBatches(start, context(1n, DROPPED), { maxCommands: 2, maxInFlight: 1 });
    const resigned = nextBatches(atDropped, context(1n, DROPPED + 1n), { maxCommands: 2, maxInFlight: 1 });
    assert.equal(resigned.inFlight[0]?.base.seq, DROPPED + 1n);
  });
});

describe("receipts kept", () => {
  it("drops the oldest once past the limit and its slack, keeping the newest `max`", () => {
    const stored = (sequence: number) => ({
      receipt: { sequence: BigInt(sequence), status: "applied" as const },
      responseKey: `0x${"00".repeat(32)}` as Hex,
    });
    const digest = (sequence: number) => `0x${sequence.toString(16).padStart(64, "0")}` as Hex;
    let receipts = PersistentMap.empty<Hex, StoredReceipt>();
    for (let i = 0; i < 12; i++) receipts = receipts.set(digest(i), stored(i));
    assert.equal(
      newestReceipts(receipts, 12n, { max: 8, slack: 4 }),
      receipts,
      "within the slack: unchanged",
    );
    receipts = receipts.set(digest(12), stored(12));
    const kept = newestReceipts(receipts, 13n, { max: 8, slack: 4 });
    assert.equal(kept.size, 8);
    assert.ok(!kept.has(digest(4)) && kept.has(digest(5)) && kept.has(digest(12)));
  });
});

describe("the queue's limit per sender", () => {
  const transfer = (sender: Hex, nonce: bigint): VerifiedCommand => ({
    sender,
    app: app.name,
    name: "transfer",
    params: { to: BOB, amount: "1" },
    nonce,
    responseKey: `0x${"11".repeat(32)}`,
    digest: `0x${nonce.toString(16).padStart(64, "0")}`,
    encoded: new Uint8Array([1]),
  });

  it("one sender's waiting commands stop at the limit; other senders are still accepted", () => {
    const waiting = Array.from({ length: MAX_QUEUED_PER_SENDER }, (_, i) => queued(ALICE, BigInt(i)));
    // Half queued, half in a batch in flight: both count.
    const half = MAX_QUEUED_PER_SENDER / 2;
    const state = {
      ...initialLedgerApp(app),
      queue: waiting.slice(half),
      inFlight: [inFlight(waiting.slice(0, half), 0n)],
    };
    assert.throws(
      () => admit(state, app, transfer(ALICE, BigInt(MAX_QUEUED_PER_SENDER))),
      (e: unknown) => e instanceof CommandRejected && e.code === "sender_queue_full",
    );
    const bob = admit(state, app, transfer(BOB, 0n));
    assert.equal(bob.queue.length, state.queue.length + 1);
    // One of Alice's ordered: she may send again.
    const fewer = { ...state, inFlight: [inFlight(waiting.slice(1, half), 0n)] };
    assert.equal(
      admit(fewer, app, transfer(ALICE, BigInt(MAX_QUEUED_PER_SENDER))).queue.length,
      fewer.queue.length + 1,
    );
  });
});
