// The credential check every member runs inside its enclave: evidence verified against the build's
// roots and profile, its measurement this enclave's own, its binding to this chain and contract, and
// the MLS key from a key package the enclave itself signed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import {
  loadTdxVector,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../attestation/dcap/test-vectors.js";
import { Platform } from "../attestation/verdict.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { enclaveBinding, keyPackageDigest, type LedgerDomain } from "../protocol/digests.js";
import {
  type Admission,
  CredentialError,
  checkCredential,
  checkEvidence,
  EMPTY_REGISTRY,
  type RegistryView,
  updateRegistry,
} from "./registry.js";
import { SimPlatform } from "./sim-platform.js";

const DOMAIN: LedgerDomain = { chainId: 31337, contract: `0x${"cd".repeat(20)}` };
const OWN: Hex = bytesToHex(new Uint8Array(32).fill(7));
const DEV: Admission = { profile: "development", measurement: OWN, now: () => new Date() };
const PROD: Admission = { ...DEV, profile: "production" };
const MLS_KEY: Hex = `0x${"33".repeat(32)}`;

const dir = mkdtempSync(join(tmpdir(), "anonify-registry-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const machine = new SimPlatform(join(dir, "machine"));

function enclave() {
  const key = generatePrivateKey();
  return {
    key,
    address: privateKeyToAccount(key).address.toLowerCase() as Hex,
    hpkePublicKey: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
  };
}
type TestEnclave = ReturnType<typeof enclave>;

async function simEvidence(who: TestEnclave, options: { domain?: LedgerDomain; measurement?: Hex } = {}) {
  const reportData = new Uint8Array(64);
  reportData.set(hexToBytes(enclaveBinding(options.domain ?? DOMAIN, who.address, who.hpkePublicKey)));
  const quote = await machine.quote(reportData, {
    measurement: hexToBytes(options.measurement ?? OWN),
    signerMeasurement: new Uint8Array(32).fill(9),
  });
  return { platform: Platform.sim, evidence: bytesToHex(quote) };
}

const refused = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (e: unknown) => e instanceof CredentialError && pattern.test(e.message));

/** A registry view fed the enclave's registration and a key package signed by `signer`. */
async function viewWith(who: TestEnclave, evidence: Hex, signer: Hex = who.key): Promise<RegistryView> {
  const keyPackage: Hex = "0x0102";
  let view = await updateRegistry(
    EMPTY_REGISTRY,
    {
      kind: "EnclaveRegistered",
      block: "1",
      logIndex: 0,
      enclave: who.address,
      platform: Platform.sim,
      measurement: OWN,
      debug: true,
      hpkePublicKey: who.hpkePublicKey,
      report: `0x${"00".repeat(224)}`,
      reportSignature: `0x${"00".repeat(65)}`,
      evidence,
    } as LedgerEvent,
    DOMAIN,
    () => MLS_KEY,
  );
  view = await updateRegistry(
    view,
    {
      kind: "KeyPackagePublished",
      block: "2",
      logIndex: 0,
      enclave: who.address,
      nonce: "4",
      keyPackage,
      signature: await sign({
        hash: keyPackageDigest(DOMAIN, 4n, keyPackage),
        privateKey: signer,
        to: "hex",
      }),
    },
    DOMAIN,
    () => MLS_KEY,
  );
  return view;
}

const credential = (view: RegistryView, who: TestEnclave, admission = DEV) =>
  checkCredential(view, DOMAIN, hexToBytes(who.address), hexToBytes(MLS_KEY), admission);

describe("checkCredential: admission by evidence", () => {
  test("evidence that verifies, binds and is of our own measurement, with a key package the enclave signed, is admitted", async () => {
    const who = enclave();
    const view = await viewWith(who, (await simEvidence(who)).evidence);
    await credential(view, who);
  });

  test("evidence of another measurement is refused", async () => {
    const who = enclave();
    const evidence = await simEvidence(who, { measurement: bytesToHex(new Uint8Array(32).fill(8)) });
    await refused(checkEvidence(evidence, who, DOMAIN, DEV), /is not this enclave's own/);
  });

  test("evidence binding another chain or another contract is refused", async () => {
    const who = enclave();
    for (const domain of [
      { ...DOMAIN, chainId: 1 },
      { ...DOMAIN, contract: `0x${"ee".repeat(20)}` as Hex },
    ]) {
      const evidence = await simEvidence(who, { domain });
      await refused(checkEvidence(evidence, who, DOMAIN, DEV), /does not bind/);
      await checkEvidence(evidence, who, domain, DEV); // the same evidence passes for the domain it names
    }
    // Nor does one enclave's evidence admit another address or HPKE key.
    const evidence = await simEvidence(who);
    await refused(
      checkEvidence(evidence, { ...who, address: enclave().address }, DOMAIN, DEV),
      /does not bind/,
    );
    await refused(
      checkEvidence(evidence, { ...who, hpkePublicKey: `0x${"00".repeat(32)}` }, DOMAIN, DEV),
      /does not bind/,
    );
  });

  test("a key package whose signature does not recover to the enclave gives its MLS key no credential", async () => {
    const who = enclave();
    const evidence = (await simEvidence(who)).evidence;
    const view = await viewWith(who, evidence, generatePrivateKey());
    assert.equal(view.enclaves[who.address]?.keyPackage, undefined, "the key package is not recorded");
    await refused(credential(view, who), /did not sign a key package with this MLS signature key/);
  });

  test("a revoked or departed enclave is refused even with good evidence", async () => {
    const who = enclave();
    let view = await viewWith(who, (await simEvidence(who)).evidence);
    const event = { kind: "EnclaveRevoked", block: "3", logIndex: 0, enclave: who.address } as const;
    view = await updateRegistry(view, event, DOMAIN, () => MLS_KEY);
    await refused(credential(view, who), /is revoked/);
  });

  test("the production profile refuses a simulated quote, however well it binds", async () => {
    const who = enclave();
    const evidence = await simEvidence(who);
    await checkEvidence(evidence, who, DOMAIN, DEV);
    await refused(
      checkEvidence(evidence, who, DOMAIN, PROD),
      /platform sim is not admitted by the production profile/,
    );
    await refused(credential(await viewWith(who, evidence.evidence), who, PROD), /production profile/);
  });

  test("host-fed policy events admit nobody: only evidence counts", async () => {
    const who = enclave();
    let view = await viewWith(who, `0x${"5a".repeat(256)}`);
    for (const event of [
      { kind: "TrustedSignerSet", signer: who.address, trusted: true },
      { kind: "MeasurementAllowed", measurement: OWN, allowed: true },
      { kind: "DebugAllowedSet", allowed: true },
    ]) {
      const next = await updateRegistry(
        view,
        { ...event, block: "9", logIndex: 0 } as LedgerEvent,
        DOMAIN,
        () => MLS_KEY,
      );
      assert.equal(next, view, `${event.kind} leaves the enclave's view as it is`);
      view = next;
    }
    await refused(credential(view, who), /evidence does not verify/);
  });

  test("a failed verification is not cached: the same evidence passes once the clock is right", async () => {
    const who = enclave();
    const evidence = await simEvidence(who);
    const early = { ...DEV, now: () => new Date("2000-01-01T00:00:00Z") };
    await refused(checkEvidence(evidence, who, DOMAIN, early), /evidence does not verify/);
    await checkEvidence(evidence, who, DOMAIN, DEV);
  });
});

describe("checkCredential: genuine hardware evidence of another build", { skip: vectorsSkip }, () => {
  test("a real TDX quote verifies but is refused for its measurement", async () => {
    const { quote, options } = loadTdxVector();
    const admission: Admission = { profile: "production", measurement: OWN, now: () => options.now };
    const evidence = { platform: Platform.tdx, evidence: bytesToHex(quote), collateral: options.collateral };
    // Without its collateral it does not verify (and that failure is not cached) ...
    await refused(
      checkEvidence({ ...evidence, collateral: undefined }, enclave(), DOMAIN, admission),
      /does not verify/,
    );
    // ... with it, it is genuine, but not our build.
    await refused(checkEvidence(evidence, enclave(), DOMAIN, admission), /is not this enclave's own/);
  });

  test("a real SGX quote verifies but is refused for its measurement", async () => {
    const now = new Date("2025-07-01T00:00:00Z");
    const evidence = {
      platform: Platform.sgx,
      evidence: bytesToHex(readVectorBytes("sgx-dcap/sgx_quote")),
      collateral: readVectorJson("sgx-dcap/sgx_quote_collateral.json"),
    };
    await refused(
      checkEvidence(evidence, enclave(), DOMAIN, { profile: "production", measurement: OWN, now: () => now }),
      /is not this enclave's own/,
    );
  });
});
