// Joining with state, in process: three enclaves on one event log. A and B form the group before any
// batch (no snapshot needed), commands are applied, then C joins: A and B capture the same snapshot
// bytes, C answers nothing and applies no later batch until it installs them, and a host that hands C
// anything else — tampered bytes, another slot, position or network, pieces out of order — changes
// nothing. C restarted while syncing stays syncing and completes; restarted after it installed, before
// its state is sealed again, it syncs again and loses no command it accepted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, mock } from "node:test";
import { bytesToHex, type Hex, hexToBytes, recoverAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { ApplyResult } from "../../boundary/call-results.js";
import { openQueryResult, sealQuery, signQuery } from "../../client/command.js";
import { snapshotDigest } from "../../protocol/digests.js";
import { readSnapshotHeader, SNAPSHOT_HEADER_BYTES } from "../../protocol/snapshot.js";
import type { Enclave } from "../enclave.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith, sealedErc20Command } from "../test-harness.js";
import { FULL_SEAL_INTERVAL_MS } from "./checkpoint.js";

const owner = privateKeyToAccount(generatePrivateKey());
const holders = [0, 1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));

describe("joining with state (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-join-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const chain = new TestChain();
  let a: Awaited<ReturnType<TestChain["register"]>>;
  let b: typeof a;
  let c: typeof a;
  let joined: ApplyResult;
  let snapshot: Hex;
  /** A's commitment of the snapshot for C, as the chain would carry it. */
  let commitment: { enclave: Hex; nonce: string; stateDigest: Hex; signature: Hex };
  let ownerNonce = 0n;

  const submit = async (via: typeof a, command: string, params: Record<string, string>) =>
    call(via.enclave, "submitCommand", {
      envelope: await sealedErc20Command(owner, DOMAIN, via.hpkePublicKey, ownerNonce++, { command, params }),
    });
  const balance = async (enclave: Enclave, hpkePublicKey: Hex, holder = holders[0]!) => {
    const query = await signQuery(holder, DOMAIN, { app: "erc20", query: "balanceOf", params: {} });
    const envelope = bytesToHex(await sealQuery(query.signed, hpkePublicKey));
    const { answer } = await call(enclave, "query", { envelope });
    const opened = await openQueryResult(query.responseKey, hexToBytes(answer), { digest: query.digest });
    assert.equal(opened.status, "ok");
    return opened.status === "ok" ? opened.result : undefined;
  };
  const feedAll = async (...members: (typeof a)[]) => Promise.all(members.map((m) => chain.feed(m.enclave)));
  const readOut = async (from: Enclave, hash: Hex): Promise<Hex> => {
    let bytes = "0x";
    for (;;) {
      const chunk = await call(from, "snapshotChunk", { hash, offset: (bytes.length - 2) / 2 });
      bytes += chunk.bytes.slice(2);
      if ((bytes.length - 2) / 2 === chunk.total) return bytes as Hex;
    }
  };

  before(async () => {
    a = await chain.register(enclaveOn(join(dir, "a")));
    await chain.feed(a.enclave);
    // Genesis: A makes a group of one by itself; nothing to order until it adds someone.
    assert.equal(await chain.commit(a), false);
    b = await chain.register(enclaveOn(join(dir, "b")));
    await feedAll(a, b);
    assert.ok(await chain.commit(a), "A adds B");
    const [toA, toB] = await feedAll(a, b);
    // Genesis and a join before any batch: the initial state is known, no snapshot anywhere.
    assert.deepEqual([toA!.snapshots, toB!.snapshots], [[], []]);
    assert.equal(toB!.ledger.syncing, undefined);
    assert.equal(toB!.group.member, true);

    await submit(a, "construct", { totalSupply: "1000000" });
    for (const [i, holder] of holders.entries())
      await submit(a, "transfer", { to: holder.address, amount: String(1000 + i) });
    assert.equal(await chain.batch(a), 1 + holders.length);
    await feedAll(a, b);
    assert.equal(await balance(b.enclave, b.hpkePublicKey), 1000n);
  });

  it("a node outside the group after batches answers nothing: syncing", async () => {
    c = await chain.register(enclaveOn(join(dir, "c")));
    const fed = await chain.feed(c.enclave);
    assert.equal(fed.ledger.skippedBatches, "1");
    assert.equal(fed.ledger.syncing, undefined);
    await refusedWith(balance(c.enclave, c.hpkePublicKey), "syncing");
  });

  it("the members adding C capture the same bytes; the committer is told to commit them", async () => {
    await feedAll(a, b);
    assert.ok(await chain.commit(a), "A adds C");
    const [toA, toB] = await feedAll(a, b);
    const [offerA] = toA!.snapshots;
    const [offerB] = toB!.snapshots;
    assert.ok(offerA && offerB);
    assert.equal(offerA.hash, offerB.hash, "every complete member seals the same bytes");
    assert.deepEqual([offerA.commit, offerB.commit], [true, false]);
    assert.deepEqual([offerA.slot, offerA.sequence], ["1", "5"]);
    assert.equal(offerA.stateDigest, offerB.stateDigest, "both name one state digest at the join");
    assert.ok(toA!.sealedState, "what it produced is sealed with its state");
    snapshot = await readOut(a.enclave, offerA.hash);
    assert.equal(snapshot, await readOut(b.enclave, offerB.hash));
    const header = readSnapshotHeader(hexToBytes(snapshot));
    assert.deepEqual([header.slot, header.sequence, header.batches], [1n, 5n, 1n]);

    // Each signs a commitment to what it captured, for the record nonce it is given; to nothing else.
    const signed = await call(a.enclave, "signSnapshot", { nonce: "1", hash: offerA.hash });
    assert.deepEqual([signed.slot, signed.at, signed.stateDigest], ["1", offerA.at, offerA.stateDigest]);
    const joinAt = chain.events.find((e) => e.seq === offerA.at)!;
    const digest = snapshotDigest(
      DOMAIN,
      1n,
      1n,
      { seq: BigInt(joinAt.seq), head: joinAt.head },
      offerA.stateDigest,
      offerA.hash,
    );
    assert.equal(await recoverAddress({ hash: digest, signature: signed.signature }), a.address);
    commitment = {
      enclave: a.address,
      nonce: "1",
      stateDigest: signed.stateDigest,
      signature: signed.signature,
    };
    await refusedWith(
      call(a.enclave, "signSnapshot", { nonce: "1", hash: `0x${"ab".repeat(32)}` }),
      "not_found",
    );
  });

  it("C joins syncing: it refuses commands, queries and statuses, proposes nothing, and stops before the next batch", async () => {
    joined = await chain.feed(c.enclave);
    assert.equal(joined.group.member, true);
    assert.deepEqual(joined.ledger.syncing?.slot, "1");
    assert.equal(joined.ledger.syncing?.sequence, "5");
    assert.ok(joined.sealedState);
    await refusedWith(balance(c.enclave, c.hpkePublicKey), "syncing");
    const command = await sealedErc20Command(holders[0]!, DOMAIN, c.hpkePublicKey, 0n);
    await refusedWith(call(c.enclave, "submitCommand", { envelope: command }), "syncing");
    await refusedWith(call(c.enclave, "commandStatus", { id: `0x${"11".repeat(32)}` }), "syncing");
    assert.equal((await call(c.enclave, "proposeHandshake", { rotate: true })).handshake, null);
    await refusedWith(
      call(c.enclave, "signSnapshot", {
        nonce: "1",
        hash: joined.snapshots[0]?.hash ?? `0x${"00".repeat(32)}`,
      }),
      "not_found",
    );

    await submit(a, "transfer", { to: holders[1]!.address, amount: "7" });
    assert.equal(await chain.batch(a), 1);
    await feedAll(a, b);
    const stopped = await chain.feed(c.enclave);
    assert.equal(stopped.blocked, true);
    assert.equal(stopped.applied, 0);
    assert.equal(stopped.ledger.sequence, "5", "the batch after the join is not applied");
  });

  it("refuses what a host makes up, with nothing changed", async () => {
    const bytes = hexToBytes(snapshot);
    const changed = (at: number, value?: number) => {
      const copy = bytes.slice();
      copy[at] = value ?? copy[at]! ^ 1;
      return bytesToHex(copy);
    };
    const install = (b: Hex) => call(c.enclave, "installSnapshot", { bytes: b, commitment });
    // A changed byte of the ciphertext: not the bytes committed (the commitment names their hash).
    await refusedWith(install(changed(bytes.length - 1)), "snapshot_mismatch"); // the tag
    await refusedWith(install(changed(SNAPSHOT_HEADER_BYTES + 2)), "snapshot_mismatch"); // the nonce
    await refusedWith(install(changed(SNAPSHOT_HEADER_BYTES - 1)), "snapshot_mismatch"); // the batches
    await refusedWith(install(changed(36)), "snapshot_mismatch"); // the slot: another slot
    await refusedWith(install(changed(44)), "snapshot_mismatch"); // the event position
    await refusedWith(install(changed(76)), "snapshot_mismatch"); // the event head: another history
    await refusedWith(install(changed(84)), "snapshot_mismatch"); // the sequence
    await refusedWith(install(changed(8)), "wrong_domain"); // the chain id: another network
    await refusedWith(install(changed(28)), "wrong_domain"); // the contract
    await refusedWith(install(changed(0, 1)), "snapshot_invalid"); // the version
    await refusedWith(install(bytesToHex(bytes.subarray(0, 200))), "snapshot_mismatch"); // truncated: not what was committed
    // Pieces out of order, or naming another total.
    const half = Math.floor(bytes.length / 2);
    await refusedWith(
      call(c.enclave, "installSnapshot", {
        bytes: bytesToHex(bytes.subarray(half)),
        offset: half,
        total: bytes.length,
        commitment,
      }),
      "snapshot_invalid",
    );
    await call(c.enclave, "installSnapshot", {
      bytes: bytesToHex(bytes.subarray(0, half)),
      offset: 0,
      total: bytes.length,
      commitment,
    });
    await refusedWith(
      call(c.enclave, "installSnapshot", {
        bytes: bytesToHex(bytes.subarray(half)),
        offset: half,
        total: bytes.length + 1,
        commitment,
      }),
      "snapshot_invalid",
    );
    const status = await call(c.enclave, "groupStatus", {});
    assert.equal(status.ledger.syncing?.slot, "1", "still syncing");
    assert.equal(status.ledger.skippedBatches, "1");
  });

  it("a snapshot of another slot is refused", async () => {
    // D joins at slot 2: A and B (complete) capture a snapshot for it; C (syncing) captures none.
    const d = await chain.register(enclaveOn(join(dir, "d")));
    await feedAll(a, b);
    assert.equal(
      (await call(c.enclave, "proposeHandshake", {})).handshake,
      null,
      "a syncing member adds nobody",
    );
    assert.ok(await chain.commit(a));
    const [toA] = await feedAll(a, b);
    const other = await readOut(a.enclave, toA!.snapshots[0]!.hash);
    assert.equal(readSnapshotHeader(hexToBytes(other)).slot, 2n);
    const refusal = await refusedWith(
      call(c.enclave, "installSnapshot", { bytes: other, commitment }),
      "snapshot_mismatch",
    );
    assert.match(refusal.message, /slot 2/);
    void d;
  });

  it("restarted while syncing, C stays syncing, then installs its snapshot and applies what follows", async () => {
    const restarted = enclaveOn(join(dir, "c"));
    await call(restarted, "init", { ...DOMAIN, sealedIdentity: c.sealedIdentity });
    const restored = await call(restarted, "restoreState", { sealedState: joined.sealedState! });
    assert.equal(restored.ledger.syncing?.slot, "1");
    await refusedWith(balance(restarted, c.hpkePublicKey), "syncing");
    assert.equal((await chain.feed(restarted)).blocked, true);

    const bytes = hexToBytes(snapshot);
    const half = Math.floor(bytes.length / 2);
    const first = await call(restarted, "installSnapshot", {
      bytes: bytesToHex(bytes.subarray(0, half)),
      offset: 0,
      total: bytes.length,
      commitment,
    });
    assert.equal(first.installed, false);
    const done = await call(restarted, "installSnapshot", {
      bytes: bytesToHex(bytes.subarray(half)),
      offset: half,
      total: bytes.length,
      commitment,
    });
    assert.equal(done.installed, true);
    assert.equal(done.ledger.syncing, undefined);
    await refusedWith(call(restarted, "installSnapshot", { bytes: snapshot, commitment }), "not_syncing");

    const fed = await chain.feed(restarted);
    assert.equal(fed.blocked, false);
    assert.equal(fed.ledger.sequence, String(chain.sequence));
    assert.equal(
      fed.ledger.skippedBatches,
      "0",
      "the members' count, not the batches it skipped before joining",
    );
    for (const holder of holders)
      assert.equal(
        await balance(restarted, c.hpkePublicKey, holder),
        await balance(a.enclave, a.hpkePublicKey, holder),
      );
    // It takes commands again, with the nonces the snapshot carried.
    const account = holders[1]!;
    const envelope = await sealedErc20Command(account, DOMAIN, c.hpkePublicKey, 0n, {
      command: "transfer",
      params: { to: holders[2]!.address, amount: "3" },
    });
    await call(restarted, "submitCommand", { envelope });
    const memberC = { ...c, enclave: restarted };
    assert.equal(await chain.batch(memberC), 1);
    await feedAll(a, b, memberC);
    for (const member of [a, b, memberC])
      assert.equal(await balance(member.enclave, member.hpkePublicKey, holders[2]!), 1002n + 3n);
  });

  it("installed on a chain that brings nothing more, it seals its state at the first tick past the interval", async () => {
    const enclave = enclaveOn(join(dir, "c"));
    await call(enclave, "init", { ...DOMAIN, sealedIdentity: c.sealedIdentity });
    await call(enclave, "restoreState", { sealedState: joined.sealedState! });
    await call(enclave, "installSnapshot", { bytes: snapshot, commitment });
    const tick = () => call(enclave, "proposeHandshake", {});
    mock.timers.enable({ apis: ["Date"], now: Date.now() });
    try {
      assert.equal((await tick()).sealedState, undefined, "within the interval: not yet");
      mock.timers.tick(FULL_SEAL_INTERVAL_MS);
      const sealed = (await tick()).sealedState;
      assert.ok(sealed, "past it, with the state moved on since its last seal: sealed");
      mock.timers.tick(FULL_SEAL_INTERVAL_MS);
      assert.equal((await tick()).sealedState, undefined, "nothing moved since: not again");
      // A restart from that seal is complete: it answers without a snapshot.
      const restarted = enclaveOn(join(dir, "c"));
      await call(restarted, "init", { ...DOMAIN, sealedIdentity: c.sealedIdentity });
      const restored = await call(restarted, "restoreState", { sealedState: sealed });
      assert.equal(restored.ledger.syncing, undefined);
      assert.equal(await balance(restarted, c.hpkePublicKey), await balance(a.enclave, a.hpkePublicKey));
    } finally {
      mock.timers.reset();
    }
  });

  it("restarted after it answered from its snapshot, before sealing it: syncs again, and a command it accepted applies once", async () => {
    /** C in a new process from the state it sealed when it joined (syncing), with `journal`. */
    const fromJoin = async (journal: Hex[]) => {
      const enclave = enclaveOn(join(dir, "c"));
      await call(enclave, "init", { ...DOMAIN, sealedIdentity: c.sealedIdentity });
      const restored = await call(enclave, "restoreState", {
        sealedState: joined.sealedState!,
        sealedJournal: journal,
      });
      return { enclave, restored };
    };
    const { enclave: first } = await fromJoin([]);
    await call(first, "installSnapshot", { bytes: snapshot, commitment });
    await chain.feed(first);
    const envelope = await sealedErc20Command(holders[3]!, DOMAIN, c.hpkePublicKey, 0n, {
      command: "transfer",
      params: { to: holders[0]!.address, amount: "7" },
    });
    const accepted = await call(first, "submitCommand", { envelope });
    const before = (await balance(a.enclave, a.hpkePublicKey)) as bigint;

    // The process dies: nothing after the join was sealed but the command's journal record.
    const { enclave: second, restored } = await fromJoin([accepted.journal!.sealed]);
    assert.equal(restored.ledger.syncing?.slot, "1", "syncing again");
    assert.equal(restored.ledger.queued, 1, "the accepted command waits");
    await call(second, "installSnapshot", { bytes: snapshot, commitment });
    await chain.feed(second);
    const memberC = { ...c, enclave: second };
    assert.equal(await chain.batch(memberC), 1);
    await feedAll(a, b, memberC);
    for (const member of [a, b, memberC])
      assert.equal(await balance(member.enclave, member.hpkePublicKey), before + 7n, "applied once");
    assert.equal((await call(second, "sealBatch", { maxCommands: 64 })).batches.length, 0, "nothing left");
  });
});
