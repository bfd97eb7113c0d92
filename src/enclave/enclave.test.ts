// The enclave's calls in process, on the simulated platform: the call table decides what runs, and a
// host that hands back sealed blobs of another identity, or tampered ones, changes nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bytesToHex, type Hex, hexToBytes, type LocalAccount, recoverAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ENCLAVE_CALLS } from "../boundary/calls.js";
import {
  type CommandRequest,
  openRefusal,
  type Signed,
  type SignedCommand,
  sealCommand,
  sealQuery,
  signCommand,
  signQuery,
} from "../client/command.js";
import { keyPackageDigest, leaveDigest } from "../protocol/digests.js";
import { commandDigest } from "../protocol/eip712.js";
import {
  call,
  DOMAIN,
  enclaveOn as enclaveIn,
  refusedWith,
  sealedErc20Command,
  send,
} from "./test-harness.js";

describe("enclave calls (in process, simulated platform)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-enclave-calls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const enclaveOn = (platformDir: string) => enclaveIn(join(dir, platformDir));

  it("runs only the table's calls, and each only once its arguments fit its schema", async () => {
    const enclave = enclaveOn("table");
    await refusedWith(send(enclave, "noSuchCall", {}), "unknown_call");
    await refusedWith(send(enclave, "constructor", {}), "unknown_call");
    for (const name of Object.keys(ENCLAVE_CALLS)) {
      const refusal = await refusedWith(send(enclave, name, { unexpected: 1 }), "invalid_argument");
      assert.match(refusal.message, /unexpected/);
      await refusedWith(send(enclave, name, "not an object"), "invalid_argument");
    }
    // Arguments that fit, before init: every call but status and init needs the identity.
    await refusedWith(call(enclave, "quote", {}), "not_initialized");
    await refusedWith(call(enclave, "sealBatch", { maxCommands: 1 }), "not_initialized");
    await refusedWith(call(enclave, "init", { chainId: 0, contract: DOMAIN.contract }), "invalid_argument");
    const status = await call(enclave, "status", {});
    assert.equal(status.address, undefined, "nothing changed");
    const init = await call(enclave, "init", DOMAIN);
    assert.equal(init.created, "first-start");
    assert.equal((await call(enclave, "status", {})).address, init.address);
    await refusedWith(call(enclave, "init", { ...DOMAIN, chainId: 1 }), "already_initialized");
  });

  it("restores only what its own identity sealed, untampered; a refused restore changes nothing", async () => {
    const first = enclaveOn("restore");
    const init = await call(first, "init", DOMAIN);
    const { sealedState } = await call(first, "keyPackage", { nonce: "0" });
    const account = privateKeyToAccount(generatePrivateKey());
    const envelope = await sealedErc20Command(account, DOMAIN, init.hpkePublicKey, 0n, {
      command: "construct",
      params: { totalSupply: "1000" },
    });
    const accepted = await call(first, "submitCommand", { envelope });
    // The same command again (a resend after a lost answer): answered alike, nothing journaled again.
    assert.deepEqual(await call(first, "submitCommand", { envelope }), {
      id: accepted.id,
      repeated: "queued",
    });

    const second = enclaveOn("restore");
    await call(second, "init", { ...DOMAIN, sealedIdentity: init.sealedIdentity });
    const record = accepted.journal!.sealed;
    const flipped = `${record.slice(0, -2)}${record.endsWith("00") ? "01" : "00"}` as Hex;
    await refusedWith(
      call(second, "restoreState", { sealedState, sealedJournal: [flipped] }),
      "sealed_state_invalid",
    );
    await refusedWith(call(second, "commandStatus", { id: accepted.id }), "not_found");

    // Another identity on the same platform (the host started a fresh enclave) cannot adopt it.
    const stranger = enclaveOn("restore");
    await call(stranger, "init", DOMAIN);
    await refusedWith(
      call(stranger, "restoreState", { sealedState, sealedJournal: [record] }),
      "sealed_state_invalid",
    );

    const restored = await call(second, "restoreState", { sealedState, sealedJournal: [record] });
    assert.equal(restored.ledger.queued, 1);
    assert.equal((await call(second, "commandStatus", { id: accepted.id })).status, "queued");
  });

  it("signs its key package and leave for the record nonce it is given, a key package never for a lower one", async () => {
    const first = enclaveOn("record-nonce");
    const init = await call(first, "init", DOMAIN);
    const signer = (hash: Hex, signature: Hex) => recoverAddress({ hash, signature });
    const ahead = await call(first, "keyPackage", { nonce: "3" });
    assert.equal(await signer(keyPackageDigest(DOMAIN, 3n, ahead.keyPackage), ahead.signature), init.address);
    // The same nonce again is a retry, answered alike; a lower one is refused, across a restore too.
    assert.equal((await call(first, "keyPackage", { nonce: "3" })).signature, ahead.signature);
    await refusedWith(call(first, "keyPackage", { nonce: "2" }), "stale_nonce");
    const second = enclaveOn("record-nonce");
    await call(second, "init", { ...DOMAIN, sealedIdentity: init.sealedIdentity });
    await call(second, "restoreState", { sealedState: ahead.sealedState });
    await refusedWith(call(second, "keyPackage", { nonce: "0" }), "stale_nonce");
    assert.equal((await call(second, "keyPackage", { nonce: "4" })).keyPackage, ahead.keyPackage);

    const { signature } = await call(second, "signLeave", { nonce: "5" });
    assert.equal(await signer(leaveDigest(DOMAIN, 5n), signature), init.address);
  });

  it("refuses after opening with one code, the precise reason sealed to the sender; envelope refusals in clear", async () => {
    const enclave = enclaveOn("refusals");
    const { hpkePublicKey } = await call(enclave, "init", DOMAIN);
    const account = privateKeyToAccount(generatePrivateKey());
    const command = (request: Partial<CommandRequest>, signer: LocalAccount = account) =>
      signCommand(signer, DOMAIN, { app: "erc20", command: "transfer", params: {}, nonce: 0n, ...request });
    await call(enclave, "submitCommand", {
      envelope: bytesToHex(
        await sealCommand(
          (await command({ command: "construct", params: { totalSupply: "1" } })).signed,
          hpkePublicKey,
        ),
      ),
    });
    const to = account.address;
    const signed = await command({ params: { to, amount: "1" }, nonce: 1n });
    const forged = { ...signed, signed: { ...signed.signed, params: `{"amount":"2","to":"${to}"}` } };
    // [message, the code sealed to its sender, whether the enclave names it by the client's digest]
    const cases: [Promise<Signed<SignedCommand>>, string, boolean][] = [
      [command({ params: { to, amount: "1" }, nonce: 0n }), "replayed_nonce", true],
      [command({ params: { to, amount: "1" }, nonce: 7n }), "nonce_gap", true],
      [command({ params: { to: "not an address", amount: "1" }, nonce: 1n }), "malformed", true],
      [command({ command: "steal", params: { from: to }, nonce: 1n }), "malformed", true],
      [command({ app: "notes", params: { to, amount: "1" }, nonce: 1n }), "wrong_app", true],
      [Promise.resolve(forged), "bad_signature", false], // signed over other params
    ];
    const sealedSizes = new Set<number>();
    for (const [pending, code, sameDigest] of cases) {
      const { signed: message, digest, responseKey } = await pending;
      const envelope = bytesToHex(await sealCommand(message, hpkePublicKey));
      const refusal = await refusedWith(call(enclave, "submitCommand", { envelope }), "refused");
      assert.doesNotMatch(refusal.message, /nonce|steal|notes|signature|address/, code);
      assert.ok(refusal.sealedReason, `${code}: the reason travels sealed`);
      sealedSizes.add(refusal.sealedReason.length);
      // The reason is bound to the digest of what was sent (for the forged one, not what was signed).
      const sentDigest = bytesToHex(commandDigest(DOMAIN, message));
      assert.equal(sentDigest === digest, sameDigest, code);
      const opened = await openRefusal("command", responseKey, hexToBytes(refusal.sealedReason as Hex), {
        domain: DOMAIN,
        digest: sentDigest,
      });
      assert.equal(opened.code, code, opened.reason);
      if (code === "wrong_app") assert.match(opened.reason, /this enclave runs "erc20"/, "it names its app");
    }
    assert.equal(sealedSizes.size, 1, "every sealed reason has one size");

    // Queries: a stale one and one for another app, refused alike; their reasons sealed as answers.
    for (const [request, code] of [
      [{ issuedAt: 1n }, "stale_query"],
      [{ app: "notes" }, "wrong_app"],
    ] as const) {
      const query = await signQuery(account, DOMAIN, {
        app: "erc20",
        query: "balanceOf",
        params: {},
        ...request,
      });
      const envelope = bytesToHex(await sealQuery(query.signed, hpkePublicKey));
      const refusal = await refusedWith(call(enclave, "query", { envelope }), "refused");
      assert.ok(refusal.sealedReason);
      const opened = await openRefusal("query", query.responseKey, hexToBytes(refusal.sealedReason as Hex), {
        domain: DOMAIN,
        digest: query.digest,
      });
      assert.equal(opened.code, code, opened.reason);
    }

    // Decided before opening, from what the host sees anyway: in clear, and nothing sealed.
    const stranger = enclaveOn("refusals-stranger");
    const other = await call(stranger, "init", DOMAIN);
    const { signed: next } = await command({ params: { to, amount: "1" }, nonce: 1n });
    const elsewhere = bytesToHex(await sealCommand(next, other.hpkePublicKey));
    const undecryptable = await refusedWith(
      call(enclave, "submitCommand", { envelope: elsewhere }),
      "undecryptable",
    );
    assert.equal(undecryptable.sealedReason, undefined);
    const query = await signQuery(account, DOMAIN, { app: "erc20", query: "balanceOf", params: {} });
    const asCommand = bytesToHex(await sealQuery(query.signed, hpkePublicKey));
    await refusedWith(call(enclave, "submitCommand", { envelope: asCommand }), "wrong_kind");
    // The commands refused above changed nothing: nonce 1 is still the next one.
    await call(enclave, "submitCommand", { envelope: bytesToHex(await sealCommand(next, hpkePublicKey)) });
  });
});
