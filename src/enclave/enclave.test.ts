// The enclave's calls in process, on the simulated platform: the call table decides what runs, and a
// host that hands back sealed blobs of another identity, or tampered ones, changes nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Hex, recoverAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ENCLAVE_CALLS } from "../boundary/calls.js";
import { keyPackageDigest, leaveDigest } from "../protocol/digests.js";
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
    // The same command again: refused with a code only; the reason is sealed to the sender.
    const replay = await refusedWith(call(first, "submitCommand", { envelope }), "replayed_nonce");
    assert.ok(replay.sealedReason, "the reason travels sealed");
    assert.doesNotMatch(replay.message, /construct|1000/);

    const second = enclaveOn("restore");
    await call(second, "init", { ...DOMAIN, sealedIdentity: init.sealedIdentity });
    const record = accepted.journal.sealed;
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
});
