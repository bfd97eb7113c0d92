// Upgrades with migrations, in process (src/enclave/app-upgrade.ts): A and B run tally v1 with
// commands applied; a signed policy names v1 upgraded to v2 (field 5). From its place in the event
// sequence A and B apply no command — not even a batch A sealed before it and its host got ordered
// after — and say so by name; C (v2) joins after it, takes their snapshot of v1's state there and
// migrates it once; C's v2 commands apply at C and neither side takes the other for a fork; D (v2)
// joining after that gets C's state, not the retired one. A host that hands a v2 enclave the state of
// before the upgrade, or a v2 build that cannot migrate, is refused by name.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import tallyV2 from "../../../test/fixtures/app-upgrade/v2/tally/index.js";
import type { App } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import { TestChain } from "../test-chain.js";
import { call, enclaveOn, refusedWith } from "../test-harness.js";
import {
  type Member,
  order,
  query as queryBy,
  sealedAdd,
  snapshotOf,
  TALLY_V1,
  upgradeDocument,
  V2,
} from "./test-upgrade.js";

const user = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const query = (at: Member, name: "count" | "entry", params: Record<string, string>) =>
  queryBy(user, at, name, params);

/** Tally v2 that counts its migrations. */
function countingV2(): { app: App<StateValue>; runs: () => number } {
  let runs = 0;
  const app = {
    ...tallyV2,
    migrate(state: StateValue, fromVersion: number) {
      runs++;
      return tallyV2.migrate!(state, fromVersion);
    },
  } as App<StateValue>;
  return { app, runs: () => runs };
}

describe("upgrades with migrations (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-upgrade-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const chain = new TestChain();
  const v2 = countingV2();
  let a: Member;
  let b: Member;
  let c: Member;
  let heldId: Hex;
  let orderedId: Hex;
  let upgradeSeq: string;
  const feedAll = (...members: Member[]) => Promise.all(members.map((m) => chain.feed(m.enclave)));

  before(async () => {
    a = await chain.register(enclaveOn(join(dir, "a"), TALLY_V1));
    await chain.feed(a.enclave);
    await chain.commit(a); // genesis: a group of one
    b = await chain.register(enclaveOn(join(dir, "b"), TALLY_V1));
    await feedAll(a, b);
    assert.ok(await chain.commit(a), "A adds B");
    await feedAll(a, b);
    const first = await sealedAdd(user, a, 0n, "x", 5);
    orderedId = (await call(a.enclave, "submitCommand", { envelope: first.envelope })).id;
    await call(a.enclave, "submitCommand", { envelope: (await sealedAdd(user, a, 1n, "y", 3)).envelope });
    assert.equal(await chain.batch(a), 2);
    await feedAll(a, b);
    assert.equal(await query(b, "count", { name: "x" }), 5n);
  });

  it("from the upgrade position a v1 enclave applies no command, not even its own batch sealed before it", async () => {
    // A accepts a v1 command and seals it; its host holds the batch until after the upgrade.
    const held = await sealedAdd(user, a, 2n, "x", 100);
    heldId = (await call(a.enclave, "submitCommand", { envelope: held.envelope })).id;
    const [offer] = (await call(a.enclave, "sealBatch", {})).batches;
    assert.ok(offer?.ciphertext);
    const document = await upgradeDocument(1n, true);
    upgradeSeq = chain.push({ kind: "PolicyPublished", ...document }).seq;
    order(chain, a, offer);
    const [toA, toB] = await feedAll(a, b);
    for (const fed of [toA!, toB!]) {
      assert.equal(fed.diverged, undefined, "retired, not diverged");
      assert.equal(fed.upgraded?.seq, upgradeSeq);
      assert.equal(fed.upgraded?.to, V2);
      assert.match(fed.upgraded?.reason ?? "", /upgraded at event \d+ to app 0x[0-9a-f]{64}/);
      assert.equal(fed.ledger.sequence, "3", "the batch is ordered…");
      assert.equal(fed.ledger.skippedBatches, "1", "…and void");
      assert.deepEqual([fed.ledger.queued, fed.ledger.inFlight], [0, 0], "nothing waits to be ordered");
    }
    // Nothing more is taken, sealed or answered; its sender learns why by name.
    const late = await sealedAdd(other, b, 0n, "x", 1);
    const refused = await refusedWith(
      call(b.enclave, "submitCommand", { envelope: late.envelope }),
      "upgraded",
    );
    assert.match(refused.message, /run the new version on a fresh data directory/);
    // Its sender is told so by its receipt (upgrade-receipts.test.ts).
    const dropped = await call(a.enclave, "commandStatus", { id: heldId });
    assert.equal(dropped.sequence, (2n ** 64n - 1n).toString(), "failed, never ordered");
    await refusedWith(query(a, "count", { name: "x" }), "upgraded");
    const sealing = await call(b.enclave, "sealBatch", {});
    assert.deepEqual(sealing.batches, []);
    assert.match(sealing.reason ?? "", /upgraded away from at event/);
    // A command ordered before the upgrade keeps its receipt.
    const status = await call(a.enclave, "commandStatus", { id: orderedId });
    assert.equal(status.status, "ordered");
  });

  it("a v2 enclave joining after it takes v1's state there, migrated once; the void batch is not in it", async () => {
    c = await chain.register(enclaveOn(join(dir, "c"), v2.app));
    const refusing = { ...tallyV2, migrate: undefined } as App<StateValue>;
    const f = await chain.register(enclaveOn(join(dir, "f"), refusing)); // the same app id: no migrate
    await feedAll(a, b, c, f);
    assert.ok(await chain.commit(a), "a retired member still adds the joiners of the new app");
    const [toA] = await feedAll(a, b);
    const [toC, toF] = await feedAll(c, f);
    assert.ok(toC!.ledger.syncing && toF!.ledger.syncing);
    const { bytes, commitment } = await snapshotOf(a, toA!.snapshots[0]!);

    // A build of the new app that cannot migrate is refused by name, with nothing changed.
    const cannot = await refusedWith(
      call(f.enclave, "installSnapshot", { bytes, commitment }),
      "cannot_migrate",
    );
    assert.match(cannot.message, /declares no migrate/);
    assert.ok((await call(f.enclave, "groupStatus", {})).ledger.syncing, "still syncing");

    const installed = await call(c.enclave, "installSnapshot", { bytes, commitment });
    assert.equal(installed.installed, true);
    assert.equal(v2.runs(), 1);
    assert.deepEqual(await query(c, "entry", { name: "x" }), { count: 5n, last: null });
    assert.equal(await query(c, "count", { name: "y" }), 3n);
    await refusedWith(call(c.enclave, "installSnapshot", { bytes, commitment }), "not_syncing");
    assert.equal(v2.runs(), 1, "migrated exactly once");
  });

  it("v2 commands apply at v2 members; v1 members neither apply them nor take them for a fork", async () => {
    // Nonce 2 again: the v1 command that had it was void, so it never counted.
    const add = await sealedAdd(user, c, 2n, "x", 2);
    await call(c.enclave, "submitCommand", { envelope: add.envelope });
    assert.equal(await chain.batch(c), 1);
    const [toA, toB, toC] = await feedAll(a, b, c);
    assert.deepEqual(
      [toA!.diverged, toB!.diverged, toC!.diverged],
      [undefined, undefined, undefined],
      "two app states, no fork",
    );
    assert.deepEqual(await query(c, "entry", { name: "x" }), { count: 7n, last: user.address.toLowerCase() });
    assert.equal(toA!.ledger.skippedBatches, "2", "void at the retired members");
    const status = await call(c.enclave, "commandStatus", { id: add.id });
    assert.equal(status.status, "ordered");
    // A v1-era command ordered by a retired member now is void at C too.
    await refusedWith(
      call(a.enclave, "submitCommand", { envelope: (await sealedAdd(other, a, 0n, "z", 1)).envelope }),
      "upgraded",
    );
    assert.equal(v2.runs(), 1);
  });

  it("a later v2 joiner gets the v2 state: the retired members capture none once v2 moved on", async () => {
    const d2 = countingV2();
    const d = await chain.register(enclaveOn(join(dir, "d"), d2.app));
    await feedAll(a, b, c, d);
    assert.ok(await chain.commit(a), "A adds D");
    const [toA, toB, toC] = await feedAll(a, b, c);
    assert.deepEqual(
      [toA!.snapshots, toB!.snapshots],
      [[], []],
      "a retired state is no longer the network's",
    );
    assert.equal(toC!.snapshots.length, 1);
    await chain.feed(d.enclave);
    const { bytes, commitment } = await snapshotOf(c, toC!.snapshots[0]!);
    assert.equal((await call(d.enclave, "installSnapshot", { bytes, commitment })).installed, true);
    assert.equal(d2.runs(), 0, "a state of the new app is not migrated again");
    assert.deepEqual(await query(d, "entry", { name: "x" }), { count: 7n, last: user.address.toLowerCase() });
  });
});

describe("a v2 enclave is never given the state of before the upgrade (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-upgrade-early-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a v2 joiner admitted before the upgrade refuses v1's snapshot of then, by name", async () => {
    const chain = new TestChain();
    const v2 = countingV2();
    const a = await chain.register(enclaveOn(join(dir, "a"), TALLY_V1));
    await chain.feed(a.enclave);
    await chain.commit(a);
    await call(a.enclave, "submitCommand", { envelope: (await sealedAdd(user, a, 0n, "x", 5)).envelope });
    await chain.batch(a);
    // An earlier document admits v2 without naming the upgrade: E joins while the network runs v1.
    chain.push({ kind: "PolicyPublished", ...(await upgradeDocument(1n, false)) });
    const e = await chain.register(enclaveOn(join(dir, "e"), v2.app));
    await chain.feed(a.enclave);
    await chain.feed(e.enclave);
    assert.ok(await chain.commit(a), "A adds E");
    const toA = await chain.feed(a.enclave);
    assert.ok((await chain.feed(e.enclave)).ledger.syncing);
    const { bytes, commitment } = await snapshotOf(
      { enclave: a.enclave, address: a.address } as Member,
      toA.snapshots[0]!,
    );
    chain.push({ kind: "PolicyPublished", ...(await upgradeDocument(2n, true)) });
    await chain.feed(a.enclave);
    await chain.feed(e.enclave);
    const refused = await refusedWith(
      call(e.enclave, "installSnapshot", { bytes, commitment }),
      "snapshot_mismatch",
    );
    assert.match(
      refused.message,
      /not after the upgrade at event \d+: it applies no command of before the upgrade/,
    );
    assert.equal(v2.runs(), 0);
  });
});
