// Public outputs (in process): the submitter of a batch signs its outputs record after applying it;
// every member checks the records its host feeds back against its own: one its submitter signed over
// other outputs stops the member (diverged, naming the batch), one its submitter did not sign is
// refused by name with nothing changed, and a batch applied elsewhere goes unchecked.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Hex, keccak256, recoverAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { publish } from "../../app/app.js";
import type { OutputsRecord } from "../../boundary/call-results.js";
import { outputsDigest } from "../../protocol/digests.js";
import { decodeOutputs, encodeOutputs } from "../../protocol/public-outputs.js";
import { erc20WithTransfer } from "../test-apps.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith, sealedErc20Command } from "../test-harness.js";

/** The erc20 app whose transfer publishes its amount (plus `skew`: a member that computes otherwise). */
const publishing = (skew = 0n) =>
  erc20WithTransfer((state, { amount }) => publish(state, { amount: amount + skew }));

describe("public outputs of batches (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-outputs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A (publishing) and B (publishing with `skewOfB`) in one group; one transfer of 7 ordered by A. */
  async function network(name: string, skewOfB = 0n) {
    const chain = new TestChain();
    const a = await chain.register(enclaveOn(join(dir, name, "a"), publishing()));
    await chain.feed(a.enclave);
    await chain.commit(a);
    const b = await chain.register(enclaveOn(join(dir, name, "b"), publishing(skewOfB)));
    await chain.feed(a.enclave);
    assert.ok(await chain.commit(a), "A adds B");
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    const owner = privateKeyToAccount(generatePrivateKey());
    let nonce = 0n;
    for (const [command, params] of [
      ["construct", { totalSupply: "1000" }],
      ["transfer", { to: b.address, amount: "7" }],
    ] as const)
      await call(a.enclave, "submitCommand", {
        envelope: await sealedErc20Command(owner, DOMAIN, a.hpkePublicKey, nonce++, { command, params }),
      });
    await chain.batch(a);
    const atA = await chain.feed(a.enclave);
    await chain.feed(b.enclave);
    return { chain, a, b, records: atA.outputs ?? [] };
  }

  it("the submitter signs one record, padded, holding only what the commands published", async () => {
    const { chain, a, records } = await network("record");
    assert.equal(records.length, 1);
    const [record] = records as [OutputsRecord];
    const batch = chain.events.find((e) => e.kind === "BatchSubmitted")!;
    assert.equal(record.seq, batch.seq);
    const outputs = decodeOutputs(Buffer.from(record.outputs.slice(2), "hex"));
    // construct published nothing; the transfer (sequence 1) its amount, and nothing else.
    assert.deepEqual(outputs, [{ sequence: 1n, output: { amount: 7n } }]);
    assert.equal((record.outputs.length - 2) / 2, 256, "padded to the smallest bucket");
    const digest = outputsDigest(DOMAIN, 0n, { seq: BigInt(batch.seq), head: batch.head }, record.outputs);
    const signer = await recoverAddress({ hash: digest, signature: record.signature });
    assert.equal(signer.toLowerCase(), a.address.toLowerCase());
  });

  it("a member holding the submitter's own record checks it and goes on", async () => {
    const { b, records } = await network("same");
    const answer = await call(b.enclave, "checkOutputs", { records });
    assert.deepEqual([answer.checked, answer.diverged], [1, undefined]);
  });

  it("a member whose outputs differ from the submitter's record stops, naming the batch", async () => {
    const { b, records } = await network("differ", 1n);
    const answer = await call(b.enclave, "checkOutputs", { records });
    assert.equal(answer.diverged?.kind, "OutputsPublished");
    assert.match(answer.diverged?.reason ?? "", /^batch 0: enclave 0x[0-9a-f]{40} published outputs/);
    assert.equal(answer.diverged?.theirs, keccak256(records[0]!.outputs));
    // Stopped for good: it applies nothing more.
    await refusedWith(call(b.enclave, "applyEvents", { events: [] }), "diverged");
  });

  it("a record its batch's submitter did not sign is refused by name, and changes nothing", async () => {
    const { b, records } = await network("forged", 1n);
    const [record] = records as [OutputsRecord];
    // The host's own record for the batch (B's outputs, which differ): signed by a key of its own.
    const outputs: Hex = `0x${Buffer.from(encodeOutputs([{ sequence: 1n, output: { amount: 8n } }])).toString("hex")}`;
    const host = privateKeyToAccount(generatePrivateKey());
    const signature = await host.sign({
      hash: outputsDigest(DOMAIN, 0n, { seq: BigInt(record.seq), head: `0x${"00".repeat(32)}` }, outputs),
    });
    for (const forged of [
      { ...record, outputs }, // tampered outputs under the submitter's signature
      { ...record, outputs, signature }, // signed by a key that is no enclave
      { ...record, seq: (BigInt(record.seq) + 1n).toString() }, // another position
    ])
      await refusedWith(call(b.enclave, "checkOutputs", { records: [forged] }), "invalid_argument");
    const status = await call(b.enclave, "groupStatus", {});
    assert.equal(status.diverged, undefined);
  });

  it("a record of a batch this member did not apply goes unchecked", async () => {
    const { b, records } = await network("unknown");
    const answer = await call(b.enclave, "checkOutputs", {
      records: [{ ...records[0]!, batch: "5" }],
    });
    assert.deepEqual([answer.checked, answer.diverged], [0, undefined]);
  });
});
