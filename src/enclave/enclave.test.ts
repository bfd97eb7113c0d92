// The enclave's calls in process, on the simulated platform: the call table decides what runs, and a
// host that hands back sealed blobs of another identity, or tampered ones, changes nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ENCLAVE_CALLS } from "../boundary/calls.js";
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
    const { sealedState } = await call(first, "keyPackage", {});
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
});
