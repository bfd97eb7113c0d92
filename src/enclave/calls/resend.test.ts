// A resent command is answered, not refused (in process). The "attacker" is an unlucky network: the
// node's answer to a submission is lost (a dropped connection, a proxy's 503), and the client sends the
// same signed bytes again (src/client/node-retry.ts, lost-answer.ts). The enclave answers the resend
// as it answered the first — accepted, the same command id — whether the command is queued, in a batch
// in flight or ordered, and changes nothing: it is queued once, journaled once and applied once. Only
// the same command is taken again: another command with a nonce already used is still refused.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { openReceipt, openRefusal, sealCommand, signCommand } from "../../client/command.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";

const SUPPLY = "1000";
const SENT = "5";

describe("a command sent again with the same signed bytes (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-resend-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is answered as accepted with the same id, queued, in flight or ordered, and applies once", async () => {
    const chain = new TestChain();
    const a = await chain.register(enclaveOn(join(dir, "a")));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const [alice, bob] = [
      privateKeyToAccount(generatePrivateKey()),
      privateKeyToAccount(generatePrivateKey()),
    ];
    const sign = (nonce: bigint, command: string, params: Record<string, string>) =>
      signCommand(alice, DOMAIN, { app: "erc20", command, params, nonce });
    const seal = async (signed: Awaited<ReturnType<typeof sign>>) =>
      bytesToHex(await sealCommand(signed.signed, a.hpkePublicKey));
    const ledger = async () => (await call(a.enclave, "groupStatus", {})).ledger;

    await call(a.enclave, "submitCommand", {
      envelope: await seal(await sign(0n, "construct", { totalSupply: SUPPLY })),
    });
    const transfer = await sign(1n, "transfer", { to: bob.address, amount: SENT });
    const envelope = await seal(transfer);
    const first = await call(a.enclave, "submitCommand", { envelope });
    assert.equal(first.id, transfer.digest);
    assert.ok(first.journal, "the first acceptance is journaled");

    // The answer lost, the same bytes again, and a fresh seal of the same signed command: accepted.
    for (const resent of [envelope, await seal(transfer)]) {
      const again = await call(a.enclave, "submitCommand", { envelope: resent });
      assert.deepEqual(again, { id: first.id, repeated: "queued" }, "the same id; no second journal record");
    }
    assert.equal((await ledger()).queued, 2, "queued once");

    // Another command with the nonce taken is still refused, its reason sealed to its sender.
    const other = await sign(1n, "transfer", { to: bob.address, amount: "6" });
    const refusal = await refusedWith(
      call(a.enclave, "submitCommand", { envelope: await seal(other) }),
      "refused",
    );
    const reason = await openRefusal("command", other.responseKey, hexToBytes(refusal.sealedReason as Hex), {
      domain: DOMAIN,
      digest: other.digest,
    });
    assert.equal(reason.code, "replayed_nonce", reason.reason);

    // In a batch in flight (sealed and submitted, not yet applied), then ordered: the same answer.
    assert.equal(await chain.batch(a), 2, "the batch holds construct and the transfer");
    assert.deepEqual(await call(a.enclave, "submitCommand", { envelope }), {
      id: first.id,
      repeated: "submitted",
    });
    assert.equal((await ledger()).queued, 0, "nothing queued again while in flight");
    await chain.feed(a.enclave);
    assert.deepEqual(await call(a.enclave, "submitCommand", { envelope }), {
      id: first.id,
      repeated: "ordered",
    });
    assert.equal(await chain.batch(a), 0, "nothing to batch: the resend was not queued");
    await chain.feed(a.enclave);
    const status = await ledger();
    assert.equal(status.sequence, "2", "two commands ordered: construct and the transfer, once");
    assert.equal(status.queued, 0);

    // The sender polls the status by id and gets its receipt: applied.
    const answer = await call(a.enclave, "commandStatus", { id: first.id });
    assert.ok(answer.receipt);
    const receipt = await openReceipt(transfer.responseKey, hexToBytes(answer.receipt), {
      domain: DOMAIN,
      digest: transfer.digest,
    });
    assert.equal(receipt.status, "applied");
    assert.equal(receipt.sequence, 1n);
  });
});
