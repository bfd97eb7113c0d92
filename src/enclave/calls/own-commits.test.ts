// A rollback past this enclave's own commits (a reorganisation that the chain then orders them again):
// MLS cannot open a member's own commit, so the restore takes the commits from the newest state the
// host holds sealed, and adopts each when the chain orders it in the epoch it was made in.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import type { Enclave } from "../enclave.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";

/** The state a feed sealed (every handshake that changes the group seals it). */
async function sealedFeed(chain: TestChain, enclave: Enclave): Promise<Hex> {
  const { sealedState } = await chain.feed(enclave);
  assert.ok(sealedState, "the group changed, so the state was sealed");
  return sealedState;
}

describe("own commits across a rollback (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-own-commits-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const chain = new TestChain();
  let sealedIdentity: Hex;
  /** A's sealed states: before genesis, after genesis, after its rotation; and B's after the rotation. */
  const sealed = {} as { beforeGenesis: Hex; afterGenesis: Hex; latest: Hex; other: Hex };
  let fingerprint: Hex | undefined;

  before(async () => {
    const a = await chain.register(enclaveOn(join(dir, "a")));
    const b = await chain.register(enclaveOn(join(dir, "b")));
    sealedIdentity = a.sealedIdentity;
    await chain.feed(b.enclave);
    // The same key package signed again: A's state before it made any commit.
    sealed.beforeGenesis = (await call(a.enclave, "keyPackage", { nonce: "0" })).sealedState;
    await chain.feed(a.enclave);
    assert.ok(await chain.commit(a), "A makes the group, adding B");
    sealed.afterGenesis = await sealedFeed(chain, a.enclave);
    await chain.feed(b.enclave);
    assert.ok(await chain.commit(a, true), "A rotates");
    sealed.latest = await sealedFeed(chain, a.enclave);
    sealed.other = await sealedFeed(chain, b.enclave);
    const [ga, gb] = [await call(a.enclave, "groupStatus", {}), await call(b.enclave, "groupStatus", {})];
    assert.equal(gb.group.lastHandshake?.outcome, "applied");
    assert.equal(ga.group.lastHandshake?.outcome, "applied (own commit)");
    fingerprint = gb.group.epochKeyFingerprint;
    assert.equal(ga.group.epochKeyFingerprint, fingerprint);
  });

  /** A in a new process, restored to `sealedState`, then fed the chain again. */
  const rolledBack = async (sealedState: Hex, latestSealedState?: Hex) => {
    const enclave = enclaveOn(join(dir, "a"));
    await call(enclave, "init", { ...DOMAIN, sealedIdentity });
    await call(enclave, "restoreState", { sealedState, latestSealedState });
    await chain.feed(enclave);
    return (await call(enclave, "groupStatus", {})).group;
  };

  it("without the newest state, A cannot open its own rotation again and falls out of the group", async () => {
    const group = await rolledBack(sealed.afterGenesis);
    assert.match(group.lastHandshake?.outcome ?? "", /^void: OwnCommit/);
    assert.notEqual(group.epochKeyFingerprint, fingerprint);
  });

  it("with it, A adopts its rotation when the chain orders it again, on B's epoch key", async () => {
    const group = await rolledBack(sealed.afterGenesis, sealed.latest);
    assert.equal(group.lastHandshake?.outcome, "applied (own commit)");
    assert.equal(group.epochKeyFingerprint, fingerprint);
  });

  it("back past genesis, A adopts the group it made and then its rotation", async () => {
    assert.equal((await rolledBack(sealed.beforeGenesis)).member, false, "without: not a member");
    const group = await rolledBack(sealed.beforeGenesis, sealed.latest);
    assert.equal(group.member, true);
    assert.equal(group.epochKeyFingerprint, fingerprint);
  });

  it("refuses another enclave's state as the newest, and restores nothing", async () => {
    const enclave = enclaveOn(join(dir, "a"));
    await call(enclave, "init", { ...DOMAIN, sealedIdentity });
    await refusedWith(
      call(enclave, "restoreState", { sealedState: sealed.afterGenesis, latestSealedState: sealed.other }),
      "sealed_state_invalid",
    );
    // Nothing changed: the honest restore still goes through.
    await call(enclave, "restoreState", {
      sealedState: sealed.afterGenesis,
      latestSealedState: sealed.latest,
    });
    await chain.feed(enclave);
    assert.equal((await call(enclave, "groupStatus", {})).group.epochKeyFingerprint, fingerprint);
  });
});
