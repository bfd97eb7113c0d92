// Public queries, through an enclave in process: a query the app declares public is answered in
// clear to anyone and signed by the enclave over what was asked, the outcome and the point it
// reflects; any other name is `not_public`, whatever its host asks. What a reader then checks (the
// signer's evidence, the point on chain) is test/client/public-queries.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import counter from "../../../test/fixtures/apps/counter/index.js";
import type { App } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import { sealCommand, signCommand } from "../../client/command.js";
import { decodeOutcome, publicAnswerDigest } from "../../protocol/public-answer.js";
import { signedBy } from "../../protocol/signatures.js";
import { TestChain } from "../test-chain.js";
import { appIdIn, call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";

const app = counter as unknown as App<StateValue>;

describe("public queries (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-public-queries-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a public query is answered in clear, signed over what was asked, its outcome and its point", async () => {
    const chain = new TestChain(DOMAIN);
    const a = await chain.register(enclaveOn(join(dir, "a"), app));
    await chain.feed(a.enclave);
    await chain.commit(a);
    const user = privateKeyToAccount(generatePrivateKey());
    const signed = await signCommand(user, DOMAIN, {
      app: "counter",
      command: "add",
      params: { by: "5" },
      nonce: 0n,
    });
    const envelope = await sealCommand(signed.signed, a.hpkePublicKey);
    await call(a.enclave, "submitCommand", { envelope: `0x${Buffer.from(envelope).toString("hex")}` });
    await chain.batch(a);
    await chain.feed(a.enclave);

    const answer = await call(a.enclave, "publicQuery", { name: "total", params: "{}" });
    const outcome = decodeOutcome(hexToBytes(answer.outcome));
    assert.deepEqual(outcome, { status: "ok", result: 5n });
    const { cursor } = await call(a.enclave, "groupStatus", {});
    assert.equal(answer.at.seq, cursor?.seq);
    assert.equal(answer.at.head, cursor?.head);
    assert.ok(answer.at.digest, "a member names its state digest there");
    const at = {
      seq: BigInt(answer.at.seq),
      head: answer.at.head,
      block: BigInt(answer.at.block),
      digest: answer.at.digest,
    };
    const asked = { name: "total", params: "{}", outcome, at };
    const digest = publicAnswerDigest(DOMAIN, appIdIn(app), asked);
    assert.ok(signedBy(digest, answer.signature, a.address), "signed by the enclave");
    // What a host might change is what the signature covers.
    const changed = [
      { ...asked, outcome: { status: "ok" as const, result: 6n } },
      { ...asked, params: '{"x":1}' },
      { ...asked, at: { ...at, seq: at.seq - 1n } },
    ];
    for (const other of changed)
      assert.ok(!signedBy(publicAnswerDigest(DOMAIN, appIdIn(app), other), answer.signature, a.address));
    // A rule's refusal is answered, and signed, alike.
    const rejected = await call(a.enclave, "publicQuery", { name: "total", params: '{"x":"1"}' });
    assert.equal(decodeOutcome(hexToBytes(rejected.outcome)).status, "rejected");
  });

  it("a query not declared public, or none, is not_public; params not a canonical object are invalid_argument", async () => {
    const chain = new TestChain(DOMAIN);
    const a = await chain.register(enclaveOn(join(dir, "b"), app));
    await chain.feed(a.enclave);
    await chain.commit(a);
    // The count is each sender's own question in this app: no one else's to read in clear.
    await refusedWith(call(a.enclave, "publicQuery", { name: "count", params: "{}" }), "not_public");
    await refusedWith(call(a.enclave, "publicQuery", { name: "nosuch", params: "{}" }), "not_public");
    await refusedWith(call(a.enclave, "publicQuery", { name: "toString", params: "{}" }), "not_public");
    for (const params of ["[]", "{ }", '{"b":1,"a":2}', "nope"])
      await refusedWith(call(a.enclave, "publicQuery", { name: "total", params }), "invalid_argument");
  });
});
