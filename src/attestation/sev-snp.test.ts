// The SEV-SNP verifier on real reports from public projects (test/fixtures/sev-snp/README.md), each
// judged as its source judges it, and on copies an attacker (the host) could make of them.
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { measurementWord } from "./binding.js";
import { AWS_NITRO_ROOT_G1_PEM } from "./nitro.js";
import { DEVELOPMENT_POLICY, enforcePolicy, PolicyRejection, PRODUCTION_POLICY } from "./policy.js";
import { AMD_ARKS, ARK_GENOA_PEM, ARK_MILAN_PEM } from "./sev-snp/amd-roots.js";
import { CertGuid } from "./sev-snp/cert-table.js";
import { Offset } from "./sev-snp/report.js";
import {
  derToPem,
  evidenceWithCertificates,
  fixtureBytes,
  fixtureText,
  pemToDers,
  SAMPLES,
  type Sample,
  sampleNamed,
} from "./sev-snp/test-fixtures.js";
import { encodeCertTable, sevSnpEvidence, verifySevSnpReport } from "./sev-snp.js";
import { VerificationError } from "./verdict.js";
import { VERIFIERS } from "./verifiers.js";

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
    assert.match(error.reason, pattern);
    return true;
  });
}

const report = (s: Sample) => fixtureBytes(s.report);
const verify = (evidence: Uint8Array, s: Sample, collateral: unknown = s.chain(), now = s.now) =>
  verifySevSnpReport(evidence, { now, collateral });
const flip = (bytes: Uint8Array, offset: number): Uint8Array => {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ 0x01;
  return copy;
};
test("the pinned ARKs are AMD's: the SHA-256 beside each, their names, self-signed", () => {
  assert.deepEqual(
    AMD_ARKS.map((a) => a.product),
    ["Milan", "Genoa", "Turin"],
  );
  for (const ark of AMD_ARKS) {
    const cert = new X509Certificate(ark.pem);
    assert.equal(createHash("sha256").update(cert.raw).digest("hex"), ark.sha256, ark.product);
    assert.match(cert.subject, new RegExp(`CN=ARK-${ark.product}`));
    assert.ok(cert.verify(cert.publicKey), `ARK-${ark.product} verifies itself (OpenSSL)`);
  }
});

describe("SEV-SNP reports from public projects", () => {
  for (const sample of SAMPLES) {
    test(`${sample.name}: verifies as its source expects`, async () => {
      const verdict = await verify(report(sample), sample);
      assert.equal(verdict.platform, "sev-snp");
      assert.equal(verdict.measurement, sample.measurement);
      assert.equal(verdict.measurements.measurement, sample.measurement);
      assert.equal(verdict.reportData.slice(0, 64), sample.reportDataPrefix);
      assert.equal(verdict.reportData.length, 128, "REPORT_DATA is 64 bytes");
      assert.equal(verdict.debug, sample.debug);
      assert.deepEqual(verdict.tcb, sample.tcb);
      assert.equal(verdict.tcbStatus, "UpToDate");
      assert.equal(verdict.signerMeasurement, "00".repeat(48), "no ID block: ID_KEY_DIGEST is zero");
      // On chain a 48-byte measurement is its SHA-256, as Nitro's PCR0.
      assert.equal(
        measurementWord(verdict.measurement),
        `0x${createHash("sha256").update(Buffer.from(sample.measurement, "hex")).digest("hex")}`,
      );
    });

    test(`${sample.name}: with its certificates in the evidence (report || auxblob) and through VERIFIERS`, async () => {
      const evidence = evidenceWithCertificates(sample);
      const verdict = await VERIFIERS["sev-snp"](evidence, { now: sample.now });
      assert.equal(verdict.measurement, sample.measurement);
      await rejects(verify(evidence, sample), /both with the evidence and as collateral/);
    });

    test(`${sample.name}: a flipped byte of the report is refused`, async () => {
      await rejects(verify(flip(report(sample), Offset.measurement), sample), /signature invalid/);
      await rejects(verify(flip(report(sample), Offset.reportData + 63), sample), /signature invalid/);
      await rejects(verify(flip(report(sample), Offset.signature), sample), /signature invalid/);
    });

    test(`${sample.name}: a flipped byte of a certificate is refused`, async () => {
      const [endorsement, signer, root] = pemToDers(sample.chain());
      // A byte inside each certificate's serial number: the DER stays well formed, the signature breaks.
      const badEndorsement = derToPem(flip(endorsement!, 15)) + derToPem(signer!) + derToPem(root!);
      await rejects(verify(report(sample), sample, badEndorsement), /VCEK|VLEK/);
      await rejects(verify(report(sample), sample, badEndorsement), /signature invalid/);
      const badSigner = derToPem(endorsement!) + derToPem(flip(signer!, 15)) + derToPem(root!);
      await rejects(verify(report(sample), sample, badSigner), /SEV-.*: signature invalid/);
      const badRoot = derToPem(endorsement!) + derToPem(signer!) + derToPem(flip(root!, 15));
      await rejects(verify(report(sample), sample, badRoot), /the root given is not the pinned one/);
    });
  }
});

describe("SEV-SNP: what a host could try", () => {
  const milan = sampleNamed("milan-v3-vcek.bin");
  const genoa = sampleNamed("genoa-v3-vcek.bin");
  const vlek = sampleNamed("milan-v3-vlek.bin");
  const debug = sampleNamed("milan-v2-vcek-debug.bin");

  test("another product's root: a Milan chain judged against ARK-Genoa, or with Genoa's ASK and ARK", async () => {
    await assert.rejects(
      verifySevSnpReport(report(milan), {
        now: milan.now,
        collateral: milan.chain(),
        rootCertificatePem: ARK_GENOA_PEM,
      }),
      /not issued by a pinned AMD root \(ARK-Genoa\)/,
    );
    const [vcek] = pemToDers(milan.chain());
    const [, genoaAsk, genoaArk] = pemToDers(genoa.chain());
    const mixed = derToPem(vcek!) + derToPem(genoaAsk!) + derToPem(genoaArk!);
    await rejects(verify(report(milan), milan, mixed), /VCEK: issuer name mismatch/);
    // Milan's own chain with Genoa's ARK appended: the ASK picks ARK-Milan, which is not what was given.
    const [, milanAsk] = pemToDers(milan.chain());
    await rejects(
      verify(report(milan), milan, derToPem(vcek!) + derToPem(milanAsk!) + derToPem(genoaArk!)),
      /ARK-Milan: the root given is not the pinned one/,
    );
    await rejects(
      verifySevSnpReport(report(milan), {
        now: milan.now,
        collateral: milan.chain(),
        rootCertificatePem: AWS_NITRO_ROOT_G1_PEM,
      }),
      /common name aws.nitro-enclaves names no AMD product/,
    );
    // The explicit root still verifies its own product's chain.
    const pinned = await verifySevSnpReport(report(milan), {
      now: milan.now,
      collateral: milan.chain(),
      rootCertificatePem: ARK_MILAN_PEM,
    });
    assert.equal(pinned.measurement, milan.measurement);
  });

  test("a Genoa report with a Milan chain is refused for its product", async () => {
    await rejects(
      verify(report(genoa), genoa, milan.chain()),
      /the report is from Genoa but the chain is Milan's/,
    );
  });

  test("another chip's VCEK (same product) is refused by name", async () => {
    await rejects(verify(report(milan), milan, debug.chain()), /VCEK was issued for another chip/);
    await rejects(verify(report(debug), debug, milan.chain(), milan.now), /VCEK was issued for another chip/);
  });

  test("a report whose REPORTED_TCB differs from the certificate's is refused by component", async () => {
    const microcode = Offset.reportedTcb + 7;
    await rejects(
      verify(flip(report(milan), microcode), milan),
      /reported TCB microcode 218 is not the VCEK's 219/,
    );
    await rejects(
      verify(flip(report(vlek), Offset.reportedTcb), vlek),
      /reported TCB bootloader 5 is not the VLEK's 4/,
    );
  });

  test("a VLEK report with a VCEK, and a VCEK report with the VLEK, are refused", async () => {
    const vcekPem = derToPem(fixtureBytes("milan-v2-vcek.der")) + fixtureText("milan-ask-ark.pem");
    await rejects(
      verify(report(vlek), vlek, vcekPem, debug.now),
      /names the VLEK but the certificate is a VCEK/,
    );
    await rejects(
      verify(report(debug), debug, vlek.chain(), vlek.now),
      /names the VCEK but the certificate is a VLEK/,
    );
    // A VLEK under the ASK (not the ASVK) does not chain.
    const underAsk = derToPem(fixtureBytes("milan-vlek.der")) + fixtureText("milan-ask-ark.pem");
    await rejects(verify(report(vlek), vlek, underAsk), /issuer name mismatch/);
  });

  test("a time outside a certificate's validity is refused", async () => {
    // The VCEK of go-sev-guest's sample is valid 2022-09-24 .. 2029-09-24; the AWS VLEK one year from 2024-12-10.
    await rejects(
      verify(report(debug), debug, debug.chain(), new Date("2022-09-23T00:00:00Z")),
      /VCEK.*not yet valid/,
    );
    await rejects(
      verify(report(debug), debug, debug.chain(), new Date("2029-09-25T00:00:00Z")),
      /VCEK.*expired/,
    );
    await rejects(
      verify(report(vlek), vlek, vlek.chain(), new Date("2025-12-11T00:00:00Z")),
      /VLEK.*expired/,
    );
    // ARK-Milan was issued 2020-10-22: before that no chain to it holds.
    await rejects(
      verify(report(debug), debug, debug.chain(), new Date("2020-10-21T00:00:00Z")),
      /not yet valid/,
    );
  });

  test("certificates missing, in the wrong order, or not PEM are refused by name", async () => {
    await rejects(verifySevSnpReport(report(milan), { now: milan.now }), /no certificates.*--certs/);
    const [vcek, ask, ark] = pemToDers(milan.chain());
    await rejects(
      verify(report(milan), milan, derToPem(vcek!)),
      /holds 1 certificate; expected the VCEK or VLEK/,
    );
    await rejects(
      verify(report(milan), milan, derToPem(ask!) + derToPem(vcek!)),
      /not issued by a pinned AMD root/,
    );
    await rejects(verify(report(milan), milan, { pem: milan.chain() }), /collateral must be PEM text/);
    await rejects(
      verify(report(milan), milan, `${milan.chain()}trailing`),
      /unexpected text after PEM blocks/,
    );
    const table = encodeCertTable([
      { guid: CertGuid.vcek, bytes: vcek! },
      { guid: CertGuid.ark, bytes: ark! },
    ]);
    await rejects(
      VERIFIERS["sev-snp"](sevSnpEvidence(report(milan), table), { now: milan.now }),
      /no ASK or ASVK/,
    );
    const noVcek = encodeCertTable([
      { guid: CertGuid.vlek, bytes: vcek! },
      { guid: CertGuid.ask, bytes: ask! },
    ]);
    await rejects(VERIFIERS["sev-snp"](sevSnpEvidence(report(milan), noVcek), { now: milan.now }), /no VCEK/);
  });

  test("the debug policy bit is the verdict's debug flag, which a no-debug policy refuses", async () => {
    const verdict = await verify(report(debug), debug);
    assert.equal(verdict.debug, true);
    enforcePolicy(DEVELOPMENT_POLICY, verdict, debug.now);
    assert.throws(
      () => enforcePolicy(PRODUCTION_POLICY, verdict, debug.now),
      (e: unknown) => e instanceof PolicyRejection && /debug/.test(e.reason),
    );
    enforcePolicy(PRODUCTION_POLICY, await verify(report(milan), milan), milan.now);
  });

  test("evidence that is not a report is refused, never thrown as anything else", async () => {
    await rejects(verify(new Uint8Array(100), milan), /is 100 bytes, not 1184/);
    await rejects(verify(report(milan), milan, milan.chain(), new Date(Number.NaN)), /options.now/);
    const junkTable = sevSnpEvidence(report(milan), new Uint8Array(10).fill(7));
    await rejects(verifySevSnpReport(junkTable, { now: milan.now }), /certificate table: ends before/);
  });
});
