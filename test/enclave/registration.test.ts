import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { AttestationRefused, requestReport } from "../../src/attestation/client.js";
import { PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import type { RunningService } from "../../src/attestation/service.js";
import {
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_BUNDLE,
  DEFAULT_ENCLAVE_CONFIG,
} from "../../src/build/enclave-bundle.js";
import { initAndRegister, onChainState, RegistrationError } from "../../src/host/registration.js";
import { type LedgerFixture, revertName, startLedgerFixture } from "../support/chain.js";
import { allowEnclaves, hostWallet, startEnclave, startService } from "../support/network.js";

const measurementOf = (bundle: string): Hex =>
  (JSON.parse(readFileSync(`${bundle}.json`, "utf8")) as { measurement: Hex }).measurement;

describe("registration: enclave → quote → attestation service → registerEnclave", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-register-"));
  let f: LedgerFixture;
  let service: RunningService;
  before(async () => {
    f = await startLedgerFixture();
    service = await startService();
    await allowEnclaves(f, service, measurementOf(DEFAULT_ENCLAVE_BUNDLE));
  });
  after(async () => {
    await service.close();
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("is accepted, and a restarted enclave keeps its registration", async () => {
    const hostDir = join(dir, "node-1");
    const wallet = hostWallet(f, 1);
    const enclave = startEnclave(hostDir);
    const first = await initAndRegister({
      enclave,
      hostDir,
      wallet,
      contract: f.contract,
      deployedAtBlock: 0n,
      attestationUrl: service.url,
    });
    await enclave.stop();
    assert.equal(first.registered, "now");
    assert.equal((await onChainState(wallet, f.contract, first.address)).stateName, "active");

    const again = startEnclave(hostDir);
    const second = await initAndRegister({
      enclave: again,
      hostDir,
      wallet,
      contract: f.contract,
      deployedAtBlock: 0n,
      attestationUrl: service.url,
    });
    await again.stop();
    assert.equal(second.registered, "already");
    assert.equal(second.address, first.address);
  });

  test("a quote from a measurement the owner did not allow is rejected on chain, saying what to do", async () => {
    const other = await buildEnclaveBundle({
      outFile: join(dir, "unlisted.mjs"),
      config: { ...DEFAULT_ENCLAVE_CONFIG, version: "unlisted" },
    });
    const hostDir = join(dir, "node-unlisted");
    const enclave = startEnclave(hostDir, undefined, other.path);
    try {
      const registering = initAndRegister({
        enclave,
        hostDir,
        wallet: hostWallet(f, 2),
        contract: f.contract,
        deployedAtBlock: 0n,
        attestationUrl: service.url,
      });
      await assert.rejects(registering, (e: unknown) => {
        assert.ok(e instanceof RegistrationError);
        assert.equal(
          e.message,
          `the contract does not allow this enclave's measurement ${other.measurement} (MeasurementNotAllowed): ` +
            `its owner allows it with anonify policy allow-measurement ${other.measurement}`,
        );
        return true;
      });
      assert.equal(
        await revertName(registering.catch((e: Error) => Promise.reject(e.cause))),
        "MeasurementNotAllowed",
      );
    } finally {
      await enclave.stop();
    }
  });

  test("a tampered quote is refused by the service with its reason", async () => {
    const enclave = startEnclave(join(dir, "node-tampered"));
    try {
      await enclave.call("init", { chainId: f.domain.chainId, contract: f.contract });
      const { evidence } = await enclave.call("quote");
      // Flip one byte inside the report data.
      const bytes = Buffer.from(evidence.slice(2), "hex");
      bytes[120] = (bytes[120] ?? 0) ^ 1;
      await assert.rejects(
        requestReport(service.url, { format: "sim", evidence: `0x${bytes.toString("hex")}` }),
        (e: unknown) =>
          e instanceof AttestationRefused && e.code === "verification_failed" && /signature/.test(e.reason),
      );
    } finally {
      await enclave.stop();
    }
  });

  test("a report from an untrusted service key, or a simulated one under a no-debug policy, is rejected", async () => {
    const rogue = await startService();
    const strict = await startService(PRODUCTION_POLICY);
    const hostDir = join(dir, "node-rogue");
    const enclave = startEnclave(hostDir);
    try {
      const register = (url: string) =>
        initAndRegister({
          enclave,
          hostDir,
          wallet: hostWallet(f, 3),
          contract: f.contract,
          deployedAtBlock: 0n,
          attestationUrl: url,
        });
      assert.equal(await revertName(register(rogue.url)), "UntrustedReportSigner");
      // The service itself, under a production policy, refuses simulated evidence.
      await assert.rejects(
        register(strict.url),
        (e: unknown) =>
          e instanceof AttestationRefused && e.code === "policy_rejected" && /sim/.test(e.reason),
      );
      // The contract, under a no-debug policy, refuses a simulated report from a trusted service.
      await allowEnclaves(f, service, measurementOf(DEFAULT_ENCLAVE_BUNDLE), false);
      assert.equal(await revertName(register(service.url)), "DebugNotAllowed");
    } finally {
      await allowEnclaves(f, service, measurementOf(DEFAULT_ENCLAVE_BUNDLE), true);
      await enclave.stop();
      await rogue.close();
      await strict.close();
    }
  });
});
