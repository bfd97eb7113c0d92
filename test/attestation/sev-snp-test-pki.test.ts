// The SEV-SNP test PKI (src/attestation/sev-snp/test-pki.ts) and its reports (test-report.ts), judged
// by the real SEV-SNP verifier with the test ARK pinned explicitly: a good report with its certificate
// table is accepted as a real one is (the measurement, report data and TCB it was made with) and
// passes the production policy; everything else is refused by name: AMD's ARKs pinned (the default),
// another PKI's evidence or certificates, a byte changed in the report or a certificate, a debug
// guest (by the policy), a report version the verifier does not know.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { bytesToHex } from "viem";
import { enforcePolicy, PolicyRejection, PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { Offset } from "../../src/attestation/sev-snp/report.js";
import { makeSevSnpTestPki, type SevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import {
  makeSevSnpReport,
  type SnpGuest,
  sevSnpCertTable,
} from "../../src/attestation/sev-snp/test-report.js";
import { sevSnpEvidence, verifySevSnpReport } from "../../src/attestation/sev-snp.js";
import { VerificationError, type VerifyOptions } from "../../src/attestation/verdict.js";

const REPORT_DATA = new Uint8Array(64).map((_, i) => i);
const GUEST: SnpGuest = { measurement: new Uint8Array(48).fill(0x5a) };

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof VerificationError && pattern.test(error.reason);

const flipped = (bytes: Uint8Array, offset: number): Uint8Array => {
  const copy = bytes.slice();
  copy[offset]! ^= 1;
  return copy;
};

describe("an SEV-SNP test PKI judged by the real SEV-SNP verifier", () => {
  let pki: SevSnpTestPki;
  let other: SevSnpTestPki;
  let report: Uint8Array;
  let table: Uint8Array;
  let pinned: VerifyOptions;
  const verify = (r: Uint8Array, t: Uint8Array = table, options = pinned) =>
    verifySevSnpReport(sevSnpEvidence(r, t), options);

  before(async () => {
    [pki, other] = await Promise.all([makeSevSnpTestPki(), makeSevSnpTestPki({ name: "Other Test" })]);
    report = await makeSevSnpReport(pki, REPORT_DATA, GUEST);
    table = sevSnpCertTable(pki);
    pinned = { now: new Date(), rootCertificatePem: pki.arkPem };
  });

  test("a report it signs verifies to its ARK, v3 and v5, and passes the production policy", async () => {
    for (const version of [3, 5] as const) {
      const verdict = await verify(await makeSevSnpReport(pki, REPORT_DATA, { ...GUEST, version }));
      assert.equal(verdict.platform, "sev-snp");
      assert.equal(verdict.measurement, "5a".repeat(48));
      assert.equal(verdict.reportData, bytesToHex(REPORT_DATA).slice(2));
      assert.equal(verdict.debug, false);
      assert.equal(verdict.tcbStatus, "UpToDate");
      assert.deepEqual(verdict.tcb, pki.tcb);
      enforcePolicy(PRODUCTION_POLICY, verdict, pinned.now);
    }
  });

  test("with AMD's ARKs pinned (no option: the default) it is refused, named", async () => {
    await assert.rejects(
      verify(report, table, { now: pinned.now }),
      refusedWith(
        /^sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root \(ARK-Milan, ARK-Genoa, ARK-Turin\)$/,
      ),
    );
  });

  test("another PKI's report, or its certificates beside this report, is refused against this ARK", async () => {
    const foreign = await makeSevSnpReport(other, REPORT_DATA, GUEST);
    await assert.rejects(
      verify(foreign, sevSnpCertTable(other)),
      refusedWith(/^sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root \(ARK-Genoa\)$/),
    );
    // Pinned to the other ARK, this report with the other PKI's chain: another chip, another key.
    await assert.rejects(
      verify(report, sevSnpCertTable(other), { ...pinned, rootCertificatePem: other.arkPem }),
      refusedWith(/^sev-snp: the VCEK was issued for another chip/),
    );
  });

  test("a changed byte is refused wherever it is: report data, measurement, signature, VCEK, ARK", async () => {
    for (const offset of [Offset.reportData, Offset.measurement + 7, Offset.signature + 3]) {
      await assert.rejects(
        verify(flipped(report, offset)),
        refusedWith(/^sev-snp report: signature invalid \(VCEK\)$/),
      );
    }
    const at = (der: Uint8Array) => Buffer.from(table).indexOf(Buffer.from(der));
    // The last byte of each certificate is in its signature.
    await assert.rejects(
      verify(report, flipped(table, at(pki.vcek) + pki.vcek.length - 1)),
      refusedWith(/^sev-snp chain: VCEK: signature invalid$/),
    );
    await assert.rejects(
      verify(report, flipped(table, at(pki.ask) + pki.ask.length - 1)),
      refusedWith(/^sev-snp chain: SEV-Genoa: signature invalid$/),
    );
    await assert.rejects(
      verify(report, flipped(table, at(pki.ark) + pki.ark.length - 1)),
      refusedWith(/^sev-snp chain: ARK-Genoa: the root given is not the pinned one$/),
    );
  });

  test("a debug guest verifies as debug and is refused by the production policy", async () => {
    const verdict = await verify(await makeSevSnpReport(pki, REPORT_DATA, { ...GUEST, debug: true }));
    assert.equal(verdict.debug, true);
    assert.throws(
      () => enforcePolicy(PRODUCTION_POLICY, verdict, pinned.now),
      (e) => e instanceof PolicyRejection && /debug enclaves are not accepted/.test(e.message),
    );
  });

  test("a report version the verifier does not know, or one its fields contradict, is refused", async () => {
    const versioned = (version: number) => {
      const copy = report.slice();
      new DataView(copy.buffer).setUint32(Offset.version, version, true);
      return copy;
    };
    await assert.rejects(
      verify(versioned(6)),
      refusedWith(/^sev-snp report: version 6 is not one of 2\.\.5$/),
    );
    await assert.rejects(
      verify(versioned(1)),
      refusedWith(/^sev-snp report: version 1 is not one of 2\.\.5$/),
    );
    // A v2 report has no CPUID: the bytes this v3 report holds there are reserved.
    await assert.rejects(verify(versioned(2)), refusedWith(/reserved bytes after REPORTED_TCB/));
    // v3 to v5 parses (the tail is zero) but is no longer the report the VCEK signed.
    await assert.rejects(verify(versioned(5)), refusedWith(/^sev-snp report: signature invalid \(VCEK\)$/));
  });
});
