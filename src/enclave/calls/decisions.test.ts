// Decisions from the chain alone: what an enclave decides on the events it applies depends on those
// events only, never on its own clock (which its host sets). A commit's credentials are judged at the
// block time of the handshake that orders it, by its committer as by every other member; two enclaves
// fed the same events under clocks a year apart reach one state digest.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, mock } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, sealedErc20Command } from "../test-harness.js";

const SECONDS_PER_YEAR = 365n * 24n * 3600n;
/** The simulated platform's quoting certificates last ten years (sim-platform.ts). */
const PAST_THE_QUOTING_CERTIFICATES = 11n * SECONDS_PER_YEAR;

describe("decisions from the chain alone (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-decisions-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a commit whose credentials expired by the time the chain orders it is void for its committer too", async () => {
    let time = BigInt(Math.floor(Date.now() / 1000));
    const chain = new TestChain(undefined, () => time);
    const a = await chain.register(enclaveOn(join(dir, "a")));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const b = await chain.register(enclaveOn(join(dir, "b")));
    await chain.feed(a.enclave);
    assert.ok(await chain.commit(a), "A adds B");
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    const c = await chain.register(enclaveOn(join(dir, "c")));
    await Promise.all([a, b, c].map((m) => chain.feed(m.enclave)));

    // A proposes adding C, judging C's evidence at the time of the last event it read; the chain
    // orders the commit eleven years later, when every simulated quoting certificate has expired.
    const proposal = await call(a.enclave, "proposeHandshake", {});
    assert.ok(proposal.handshake, "A proposes adding C");
    time += PAST_THE_QUOTING_CERTIFICATES;
    assert.ok(await chain.commit(a));
    const [ga, gb, gc] = (await Promise.all([a, b, c].map((m) => chain.feed(m.enclave)))).map((r) => r.group);
    assert.match(gb!.lastHandshake?.outcome ?? "", /^void: /, "B judges it at its block time: void");
    assert.match(
      ga!.lastHandshake?.outcome ?? "",
      /^void: credential of .* refused: evidence does not verify/,
    );
    assert.equal(ga!.epochKeyFingerprint, gb!.epochKeyFingerprint, "A and B keep one key");
    assert.deepEqual(ga!.members, gb!.members);
    assert.equal(ga!.members.length, 2);
    assert.equal(gc!.member, false, "C did not join");
  });

  it("the same events fed to two enclaves whose clocks are a year apart give the same state digests", async () => {
    const chain = new TestChain();
    const a = await chain.register(enclaveOn(join(dir, "skew-a")));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const b = await chain.register(enclaveOn(join(dir, "skew-b")));
    // From here on B's host runs its clock a year ahead: every call B serves sees that time.
    const skewed = async <T>(call: () => Promise<T>): Promise<T> => {
      mock.timers.enable({ apis: ["Date"], now: Date.now() + Number(SECONDS_PER_YEAR) * 1000 });
      try {
        return await call();
      } finally {
        mock.timers.reset();
      }
    };
    const feedBoth = () => Promise.all([chain.feed(a.enclave), skewed(() => chain.feed(b.enclave))]);
    await feedBoth();
    assert.ok(await chain.commit(a), "A adds B");
    await feedBoth();
    const owner = privateKeyToAccount(generatePrivateKey());
    const send = async (
      to: typeof a,
      nonce: bigint,
      command: string,
      params: Record<string, string>,
      by = owner,
    ) => {
      const envelope = await sealedErc20Command(by, DOMAIN, to.hpkePublicKey, nonce, { command, params });
      const submit = () => call(to.enclave, "submitCommand", { envelope });
      return to === b ? skewed(submit) : submit();
    };
    await send(a, 0n, "construct", { totalSupply: "1000" });
    await chain.batch(a);
    await feedBoth();
    // Each seals a batch at the same point: the state digests they sign there are one.
    await send(a, 1n, "transfer", { to: owner.address, amount: "1" });
    await send(
      b,
      0n,
      "transfer",
      { to: owner.address, amount: "2" },
      privateKeyToAccount(generatePrivateKey()),
    );
    const [fromA, fromB] = [
      await call(a.enclave, "sealBatch", { maxCommands: 64 }),
      await skewed(() => call(b.enclave, "sealBatch", { maxCommands: 64 })),
    ];
    assert.equal(fromA.batches[0]!.baseSeq, fromB.batches[0]!.baseSeq);
    assert.equal(fromA.batches[0]!.stateDigest, fromB.batches[0]!.stateDigest);
  });
});
