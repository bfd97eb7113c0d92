// SEV-SNP evidence where the other platforms' is accepted: the attestation service signs a report of
// platform 4 for it, a member enclave (production profile) and a client (production policy) verify
// it to AMD's pinned root, and the contract records an enclave of platform 4 and refuses 5. A real
// report binds some other program's keys, so member and client refuse it at the binding, past
// every check before it; a changed byte or a debug guest is refused before that, by name.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type Address, bytesToHex, type Hex, padHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { attest } from "../../src/attestation/attest.js";
import { DEVELOPMENT_POLICY, PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { Offset } from "../../src/attestation/sev-snp/report.js";
import {
  evidenceWithCertificates,
  type Sample,
  sampleNamed,
} from "../../src/attestation/sev-snp/test-fixtures.js";
import { Platform, VerificationError } from "../../src/attestation/verdict.js";
import { writeAnonifyMined } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { judgeEnclave, type Registration } from "../../src/client/enclave-evidence.js";
import { ENCLAVE_POLICIES } from "../../src/client/enclave-policy.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { CredentialError, checkEvidence } from "../../src/enclave/admission.js";
import type { LedgerDomain } from "../../src/protocol/digests.js";
import {
  type LedgerFixture,
  MEASUREMENT,
  newEnclave,
  ownerCall,
  revertName,
  signedReport,
  startLedgerFixture,
} from "../support/chain.js";

const DOMAIN: LedgerDomain = { chainId: 1, contract: "0x00000000000000000000000000000000000a0a0a" };
const APP = padHex("0xa1", { size: 32 });
const HPKE_KEY = padHex("0x04", { size: 65 });
const turin = sampleNamed("turin-v5-vcek.bin");
const debugGuest = sampleNamed("milan-v2-vcek-debug.bin");

const flipped = (bytes: Uint8Array, offset: number) => {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ 1;
  return copy;
};

/** A member's judgement (production profile, its own measurement the sample's): the refusal, or "admitted". */
async function member(
  sample: Sample,
  evidence: Uint8Array,
  platform: number = Platform["sev-snp"],
): Promise<string> {
  const enclave = {
    address: privateKeyToAccount(generatePrivateKey()).address,
    hpkePublicKey: HPKE_KEY,
    app: APP,
  };
  const admission = {
    profile: "production" as const,
    measurement: `0x${sample.measurement}` as Hex,
    app: APP,
    now: sample.now,
  };
  try {
    await checkEvidence({ platform, evidence: bytesToHex(evidence) }, enclave, DOMAIN, admission);
    return "admitted";
  } catch (error) {
    assert.ok(error instanceof CredentialError, String(error));
    return error.message;
  }
}

/** A client's judgement (production policy pinning the sample's measurement): the refusal, or "accepted". */
async function client(sample: Sample, evidence: Uint8Array): Promise<string> {
  const registration: Registration = {
    address: privateKeyToAccount(generatePrivateKey()).address as Address,
    platform: "sev-snp",
    hpkePublicKey: HPKE_KEY,
    app: APP,
    evidence: bytesToHex(evidence),
  };
  const source = {
    isActive: async (a: Address) => a === registration.address,
    registration: async (a: Address) => (a === registration.address ? registration : undefined),
    collateral: async () => undefined,
  };
  const policy = { ...ENCLAVE_POLICIES.production, measurements: [`0x${sample.measurement}` as Hex] };
  try {
    await judgeEnclave(source, DOMAIN, registration.address, policy, { now: sample.now });
    return "accepted";
  } catch (error) {
    assert.ok(error instanceof AnonifyClientError, String(error));
    return error.message;
  }
}

describe("SEV-SNP evidence (report || certificate table) where the others are accepted", () => {
  test("the attestation service signs a report of platform 4: the measurement's SHA-256, the binding", async () => {
    const signer = privateKeyToAccount(generatePrivateKey());
    const evidence = evidenceWithCertificates(turin);
    for (const policy of [PRODUCTION_POLICY, DEVELOPMENT_POLICY]) {
      const signed = await attest({ format: "sev-snp", evidence }, { policy, signer, now: turin.now });
      assert.equal(signed.fields.platform, 4);
      const word = createHash("sha256").update(Buffer.from(turin.measurement, "hex")).digest("hex");
      assert.equal(signed.fields.measurement, `0x${word}`);
      assert.equal(signed.fields.reportData, `0x${turin.reportDataPrefix}`);
      assert.equal(signed.fields.debug, false);
    }
    // The debug guest: the production policy refuses what the development one signs.
    const debugEvidence = evidenceWithCertificates(debugGuest);
    await assert.rejects(
      attest(
        { format: "sev-snp", evidence: debugEvidence },
        { policy: PRODUCTION_POLICY, signer, now: debugGuest.now },
      ),
      /debug enclaves are not accepted by the production policy/,
    );
    const tampered = flipped(evidence, Offset.measurement);
    await assert.rejects(
      attest(
        { format: "sev-snp", evidence: tampered },
        { policy: DEVELOPMENT_POLICY, signer, now: turin.now },
      ),
      (e: unknown) => e instanceof VerificationError && /signature invalid/.test(e.reason),
    );
  });

  test("a member enclave verifies it under the production profile and refuses it only for its binding", async () => {
    assert.equal(
      await member(turin, evidenceWithCertificates(turin)),
      "evidence does not bind this enclave's keys and app to this chain and contract",
    );
    assert.match(
      await member(turin, flipped(evidenceWithCertificates(turin), Offset.measurement)),
      /^evidence does not verify: sev-snp report: signature invalid/,
    );
    assert.equal(
      await member(debugGuest, evidenceWithCertificates(debugGuest)),
      "debug enclaves are not admitted by the production profile",
    );
    // The same bytes named as another platform are judged by that platform's verifier, and fail.
    assert.match(
      await member(turin, evidenceWithCertificates(turin), Platform.nitro),
      /^evidence does not verify/,
    );
  });

  test("a client verifies it itself under the production policy and refuses it only for its binding", async () => {
    const reason = await client(turin, evidenceWithCertificates(turin));
    assert.match(reason, /evidence does not bind this enclave's keys and app to this chain and contract$/);
    assert.match(
      await client(turin, flipped(evidenceWithCertificates(turin), Offset.measurement)),
      /its evidence does not verify: sev-snp report: signature invalid/,
    );
  });
});

describe("the contract's platform 4", () => {
  const SERVICE_KEY = generatePrivateKey();
  let f: LedgerFixture;
  before(async () => {
    f = await startLedgerFixture();
    await ownerCall(f, "setTrustedSigner", [privateKeyToAccount(SERVICE_KEY).address, true]);
    await ownerCall(f, "setMeasurementAllowed", [MEASUREMENT, true]);
  });
  after(async () => f?.stop());

  test("registers an enclave of platform 4 (SEV-SNP) and refuses platform 5", async () => {
    const register = async (platform: number) => {
      const e = newEnclave();
      const { report, signature, evidence } = await signedReport(f.domain, e, SERVICE_KEY, { platform });
      const args = [report, signature, e.address, e.hpkePublicKey, e.app, evidence] as const;
      return { e, mined: writeAnonifyMined(f.owner, f.contract, "registerEnclave", args) };
    };
    const ok = await register(Platform["sev-snp"]);
    assert.equal((await ok.mined).status, "success");
    const record = await f.owner.publicClient.readContract({
      address: f.contract,
      abi: anonifyAbi,
      functionName: "getEnclave",
      args: [ok.e.address],
    });
    assert.equal(record.platform, Platform["sev-snp"]);
    assert.equal(await revertName((await register(5)).mined), "UnknownPlatform");
  });
});
