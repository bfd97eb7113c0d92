// The TDX and SEV-SNP adapters under a real enclave (in process), over a directory that plays the
// kernel: the evidence the enclave hands out is the kernel's answer byte for byte, its report data
// binds the enclave's keys to the ledger, and the enclave knows itself by what that evidence says.
// Neither platform can seal: a restarted enclave is a new one, said so at `init`.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "viem";
import { parseQuote } from "../../attestation/dcap/quote.js";
import { tdxMeasurement } from "../../attestation/dcap/tdx-measurement.js";
import { readVectorBytes, vectorsSkip } from "../../attestation/dcap/test-vectors.js";
import { decodeSevSnpReport } from "../../attestation/sev-snp/report.js";
import { sevSnpEvidence, splitSevSnpEvidence } from "../../attestation/sev-snp.js";
import { enclaveBinding } from "../../protocol/digests.js";
import { SealingError, seal, unseal } from "../sealing.js";
import { appIdIn, call, DOMAIN } from "../test-harness.js";
import { PlatformError } from "./platform-files.js";
import { EmulatedTsm, enclaveOnHardware, sevSnpReportFor, sgxQuoteFor, tdxQuoteFor } from "./test-kernel.js";
import { TsmPlatform } from "./tsm-platform.js";

const roots: string[] = [];
after(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function platformOver(
  platform: "tdx" | "sev-snp",
  answer: (inblob: Uint8Array) => Uint8Array,
  auxblob?: Uint8Array,
) {
  const root = await mkdtemp(join(tmpdir(), "anonify-tsm-platform-"));
  roots.push(root);
  const provider = platform === "tdx" ? "tdx_guest" : "sev_guest";
  const kernel = await EmulatedTsm.boot({ root, provider, answer, ...(auxblob ? { auxblob } : {}) });
  return { kernel, platform: new TsmPlatform({ platform, reportDir: kernel.reportDir, files: kernel }) };
}

const ZERO = new Uint8Array(64);

describe("the TDX adapter under an enclave", { skip: vectorsSkip }, () => {
  test("its evidence is the kernel's quote, whose report data binds the enclave's keys; it knows itself by that quote", async () => {
    const { kernel, platform } = await platformOver("tdx", tdxQuoteFor);
    const enclave = await enclaveOnHardware(platform, "tdx");
    const status = await call(enclave, "status", {});
    assert.equal(status.platform, "tdx");
    const td = parseQuote(readVectorBytes("sgx-dcap/tdx_quote")).body;
    assert.ok(td.kind !== "sgx");
    // The measurement its peers compare with theirs: the combined TDX measurement of its own TD report.
    assert.equal(status.measurement, bytesToHex(tdxMeasurement(td)));
    assert.equal(status.signerMeasurement, bytesToHex(sha256(td.mrSignerSeam)));

    const identity = await call(enclave, "init", DOMAIN);
    const quote = await call(enclave, "quote", {});
    assert.equal(quote.platform, "tdx");
    assert.equal(quote.app, appIdIn());
    const inblob = kernel.answered.at(-1)!;
    assert.equal(quote.evidence, bytesToHex(tdxQuoteFor(inblob)), "the very bytes the kernel answered");
    const binding = enclaveBinding(DOMAIN, identity.address, identity.hpkePublicKey, quote.app);
    const reportData = parseQuote(hexToBytes(quote.evidence)).body.reportData;
    assert.equal(bytesToHex(reportData.subarray(0, 32)), binding);
    assert.ok(reportData.subarray(32).every((b) => b === 0));
    assert.equal(quote.reportData, bytesToHex(reportData));
  });

  test("a kernel answering for other report data, or with another format, is refused by name", async () => {
    const stale = await platformOver("tdx", () => tdxQuoteFor(ZERO));
    await assert.rejects(
      stale.platform.quote(new Uint8Array(64).fill(3)),
      (e: unknown) =>
        e instanceof PlatformError && e.code === "bad_evidence" && /other report data/.test(e.message),
    );
    const sgx = await platformOver("tdx", sgxQuoteFor);
    await assert.rejects(
      sgx.platform.ownIdentity(),
      (e: unknown) => e instanceof PlatformError && /an SGX quote, not a TDX one/.test(e.message),
    );
    const garbage = await platformOver("tdx", () => new Uint8Array(600).fill(7));
    await assert.rejects(
      garbage.platform.ownIdentity(),
      (e: unknown) => e instanceof PlatformError && /600 bytes that are not tdx evidence/.test(e.message),
    );
  });

  test("nothing it seals outlives the process: a restarted enclave says so and makes a new identity", async () => {
    const { platform } = await platformOver("tdx", tdxQuoteFor);
    const before = await enclaveOnHardware(platform, "tdx");
    const first = await call(before, "init", DOMAIN);
    assert.equal(first.created, "first-start");
    // The next process: the same TD, the same kernel, a platform adapter of its own.
    const { platform: restarted } = await platformOver("tdx", tdxQuoteFor);
    const after = await enclaveOnHardware(restarted, "tdx");
    const second = await call(after, "init", { ...DOMAIN, sealedIdentity: first.sealedIdentity });
    assert.equal(second.created, "platform-cannot-seal");
    assert.notEqual(second.address, first.address);
    // What one process sealed, another cannot open (the key never left the first one's memory).
    const identity = await platform.ownIdentity();
    const blob = await seal(platform, identity, new Uint8Array([1, 2, 3]), { label: "l" });
    assert.deepEqual(await unseal(platform, identity, blob, { label: "l" }), new Uint8Array([1, 2, 3]));
    await assert.rejects(
      unseal(restarted, identity, blob, { label: "l" }),
      (e: unknown) => e instanceof SealingError && e.code === "tampered",
    );
    assert.equal(platform.sealing, "process");
  });
});

describe("the SEV-SNP adapter under an enclave", () => {
  test("its evidence is the kernel's report, whose report data binds the enclave's keys; it knows itself by that report", async () => {
    const { kernel, platform } = await platformOver("sev-snp", sevSnpReportFor);
    const enclave = await enclaveOnHardware(platform, "sev-snp");
    const status = await call(enclave, "status", {});
    assert.equal(status.platform, "sev-snp");
    const sample = decodeSevSnpReport(sevSnpReportFor(ZERO));
    // A 48-byte MEASUREMENT is known by its SHA-256, as the contract records it.
    assert.equal(status.measurement, bytesToHex(sha256(sample.measurement)));
    assert.equal(status.signerMeasurement, bytesToHex(new Uint8Array(32)));

    const identity = await call(enclave, "init", DOMAIN);
    const binding = enclaveBinding(DOMAIN, identity.address, identity.hpkePublicKey, appIdIn());
    const expected = new Uint8Array(64);
    expected.set(hexToBytes(binding));
    const quote = await call(enclave, "quote", {});
    assert.equal(quote.platform, "sev-snp");
    assert.deepEqual(kernel.answered.at(-1), expected, "the kernel was asked for the binding");
    assert.equal(quote.evidence, bytesToHex(sevSnpReportFor(expected)), "the very bytes the kernel answered");
    assert.deepEqual(decodeSevSnpReport(hexToBytes(quote.evidence)).reportData, expected);
  });

  test("with the certificate table the kernel gives in auxblob, the evidence carries it after the report", async () => {
    // Any bytes do for the plumbing: the verifier judges the table (sev-snp.test.ts, on real chains).
    const table = new Uint8Array(96).fill(0xc7);
    const { platform } = await platformOver("sev-snp", sevSnpReportFor, table);
    const enclave = await enclaveOnHardware(platform, "sev-snp");
    const identity = await call(enclave, "init", DOMAIN);
    const binding = enclaveBinding(DOMAIN, identity.address, identity.hpkePublicKey, appIdIn());
    const expected = new Uint8Array(64);
    expected.set(hexToBytes(binding));
    const quote = await call(enclave, "quote", {});
    assert.equal(quote.evidence, bytesToHex(sevSnpEvidence(sevSnpReportFor(expected), table)));
    assert.deepEqual(splitSevSnpEvidence(hexToBytes(quote.evidence)).certTable, table);
  });

  test("an answer that is no SEV-SNP report is refused by name", async () => {
    const { platform } = await platformOver("sev-snp", () => new Uint8Array(1184 + 1));
    await assert.rejects(
      platform.ownIdentity(),
      (e: unknown) =>
        e instanceof PlatformError && /1185 bytes that are not sev-snp evidence/.test(e.message),
    );
  });
});
