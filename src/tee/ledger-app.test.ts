import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import erc20 from "../../apps/erc20/index.js";
import type { App } from "../runtime/app.js";
import type { StateValue } from "../runtime/canonical.js";
import { type InFlight, initialLedgerApp, type Queued, settledHere, withJournal } from "./ledger-app.js";

const app = erc20 as unknown as App<StateValue>;
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

function inFlight(commands: Queued[], nonce: bigint): InFlight {
  return { commands, slot: 1n, mlsEpoch: 1n, nonce, ciphertext: "0x00", count: commands.length };
}

const digests = (qs: Queued[]) => qs.map((q) => q.digest);

describe("the command journal joined with a checkpoint after a restart", () => {
  it("a checkpoint older than the snapshot: the batch in flight is not queued again", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [a0, b0] };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [b0, a1], inFlight: inFlight([a0], 0n) },
      accepted: [a2, b1],
    });
    assert.deepEqual(digests(restored.inFlight?.commands ?? []), digests([a0]));
    assert.deepEqual(digests(restored.queue), digests([b0, a1, a2, b1]));
  });

  it("a checkpoint newer than the snapshot: commands on both sides are kept once, in acceptance order", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [a0, b0, a1] };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [a0], inFlight: undefined },
      accepted: [b0, a1, b1],
    });
    assert.deepEqual(digests(restored.queue), digests([a0, b0, a1, b1]));
    assert.equal(restored.inFlight, undefined);
  });

  it("drops what the checkpoint already applied, and a batch it saw ordered", () => {
    const checkpoint = {
      ...initialLedgerApp(app),
      nonces: new Map([[ALICE, 2n]]),
      ownBatches: 1n,
    };
    const restored = withJournal(checkpoint, {
      snapshot: { queue: [a1, b0], inFlight: inFlight([a0], 0n) },
      accepted: [a2],
    });
    assert.equal(restored.inFlight, undefined);
    assert.deepEqual(digests(restored.queue), digests([b0, a2]));
  });

  it("without a journal the checkpoint's own queue stands", () => {
    const checkpoint = { ...initialLedgerApp(app), queue: [a0, b0], inFlight: inFlight([a1], 0n) };
    const restored = withJournal(checkpoint, { accepted: [] });
    assert.deepEqual(digests(restored.queue), digests([a0, b0]));
    assert.deepEqual(digests(restored.inFlight?.commands ?? []), digests([a1]));
  });
});

describe("commands settled by an apply", () => {
  it("names the commands accepted here that no longer wait, and only those", () => {
    const before = { ...initialLedgerApp(app), queue: [b0, a1], inFlight: inFlight([a0], 0n) };
    const after = { ...before, queue: [a1], inFlight: undefined };
    assert.deepEqual(settledHere(before, after), digests([b0, a0]));
    assert.deepEqual(settledHere(after, after), []);
  });
});
