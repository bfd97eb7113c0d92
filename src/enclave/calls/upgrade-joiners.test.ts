// Two v2 joiners at once after an upgrade (app-upgrade.ts; issue #27's open bug: on node processes one
// of two v2 nodes started together once stayed not_member for 120 s). The race at the enclaves: D's
// key package is published while the commit adding C is in flight, and the two retired v1 members
// offered rival commits for that slot. Once C's add lands, both retired members propose adding D
// (C, still syncing, proposes nothing), D joins, and both install a snapshot of the v1 state at the
// document and migrate it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { HandshakeProposal } from "../../boundary/call-results.js";
import { TestChain } from "../test-chain.js";
import { call, enclaveOn } from "../test-harness.js";
import { type Member, query, snapshotOf, TALLY_V2, upgradeDocument, v1Network } from "./test-upgrade.js";

const alice = privateKeyToAccount(generatePrivateKey());

/** Orders `proposal` of `by` as the contract would, whenever its host's transaction lands. */
function orderCommit(chain: TestChain, by: Member, proposal: HandshakeProposal): void {
  assert.ok(proposal.handshake !== null, "a commit was proposed");
  chain.push({
    kind: "HandshakeCommitted",
    epoch: chain.slot.toString(),
    enclave: by.address,
    rotation: proposal.rotation,
    baseSeq: proposal.baseSeq,
    handshake: proposal.handshake,
    signature: proposal.signature,
  });
  chain.slot++;
}

describe("two v2 joiners at once after an upgrade (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-upgrade-joiners-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a key package published while the first joiner's add is in flight is added next, by a retired member", async () => {
    const chain = new TestChain();
    const { a, b, feedAll } = await v1Network(chain, dir, alice);
    chain.push({ kind: "PolicyPublished", ...(await upgradeDocument(1n, true)) });
    const c = await chain.register(enclaveOn(join(dir, "c"), TALLY_V2));
    await feedAll(a, b, c);

    // Both retired members offer a commit adding C; D publishes its key package meanwhile; A's lands.
    const [byA, byB] = [
      await call(a.enclave, "proposeHandshake", {}),
      await call(b.enclave, "proposeHandshake", {}),
    ];
    assert.ok(byB.handshake !== null, "B offers a rival commit");
    const d = await chain.register(enclaveOn(join(dir, "d"), TALLY_V2));
    orderCommit(chain, a, byA);
    const [toA, toB, toC, toD] = await feedAll(a, b, c, d);
    assert.deepEqual([toC!.group.member, toD!.group.member], [true, false], "C added, D waits");
    assert.ok(toA!.snapshots.length === 1 && toB!.snapshots.length === 1, "both capture C's snapshot");

    // Next slot: each retired member proposes D's add (whichever lands); C, syncing, proposes nothing.
    const next = await Promise.all([a, b, c].map((m) => call(m.enclave, "proposeHandshake", {})));
    assert.deepEqual(
      next.map((p) => p.handshake !== null),
      [true, true, false],
      "A and B propose adding D; C, syncing, does not",
    );
    orderCommit(chain, b, next[1]!);
    const [toA2, , , toD2] = await feedAll(a, b, c, d);
    assert.equal(toD2!.group.member, true, "D added");
    assert.ok(toD2!.ledger.syncing);

    // Each installs a snapshot of the v1 state at its join and migrates it.
    for (const [joiner, offer] of [
      [c, toA!.snapshots[0]!],
      [d, toA2!.snapshots[0]!],
    ] as const) {
      const { bytes, commitment } = await snapshotOf(a, offer);
      assert.equal((await call(joiner.enclave, "installSnapshot", { bytes, commitment })).installed, true);
      assert.deepEqual(await query(alice, joiner, "entry", { name: "x" }), { count: 5n, last: null });
    }
  });
});
