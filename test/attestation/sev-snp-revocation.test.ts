// SEV-SNP's VMPL and AMD's CRLs, on the test PKI (src/attestation/sev-snp/test-pki.ts) judged by the
// real verifier: a report asked for from VMPL > 0 is refused by name unless the policy allows it; a
// CRL of the chain's ARK (or ASK) is checked (signature, issuer, window) and a revoked ASK or VCEK is
// refused by name; without a CRL the verdict says revocation was not checked.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  DEVELOPMENT_POLICY,
  enforcePolicy,
  PolicyRejection,
  PRODUCTION_POLICY,
} from "../../src/attestation/policy.js";
import { crlToPem, NO_CRL_WARNING } from "../../src/attestation/sev-snp/crl.js";
import { derToPem } from "../../src/attestation/sev-snp/test-fixtures.js";
import {
  makeSevSnpTestCrl,
  makeSevSnpTestPki,
  type SevSnpTestPki,
} from "../../src/attestation/sev-snp/test-pki.js";
import {
  makeSevSnpReport,
  type SnpGuest,
  sevSnpCertTable,
} from "../../src/attestation/sev-snp/test-report.js";
import { sevSnpEvidence, verifySevSnpReport } from "../../src/attestation/sev-snp.js";
import { refusedWith } from "../support/verification.js";

const REPORT_DATA = new Uint8Array(64).fill(7);
const GUEST: SnpGuest = { measurement: new Uint8Array(48).fill(0x3c) };
/** Long enough ago that a CRL made then is past its nextUpdate, while the certificates are still valid. */
const STALE_MS = 40 * 86_400_000;

describe("SEV-SNP VMPL and AMD CRLs", () => {
  let pki: SevSnpTestPki;
  let other: SevSnpTestPki;
  let report: Uint8Array;
  const now = new Date();
  const withTable = (collateral?: string, r = report) =>
    verifySevSnpReport(sevSnpEvidence(r, sevSnpCertTable(pki)), {
      now,
      rootCertificatePem: pki.arkPem,
      ...(collateral === undefined ? {} : { collateral }),
    });

  before(async () => {
    [pki, other] = await Promise.all([makeSevSnpTestPki(), makeSevSnpTestPki({ name: "Other Test" })]);
    report = await makeSevSnpReport(pki, REPORT_DATA, GUEST);
  });

  test("without a CRL the report verifies and the verdict says revocation was not checked", async () => {
    const verdict = await withTable();
    assert.deepEqual(verdict.warnings, [NO_CRL_WARNING]);
    assert.equal(verdict.vmpl, 0);
  });

  test("with the ARK's CRL (beside a certificate table, or with a PEM chain) nothing is left to warn of", async () => {
    const crl = crlToPem(await makeSevSnpTestCrl(pki));
    assert.equal((await withTable(crl)).warnings, undefined);
    const chain = derToPem(pki.vcek) + derToPem(pki.ask) + crl;
    const bare = await verifySevSnpReport(report, { now, rootCertificatePem: pki.arkPem, collateral: chain });
    assert.equal(bare.warnings, undefined);
  });

  test("a revoked ASK or VCEK is refused by name", async () => {
    const askRevoked = crlToPem(await makeSevSnpTestCrl(pki, { revoked: [pki.ask] }));
    await assert.rejects(
      withTable(askRevoked),
      refusedWith(/^sev-snp chain: SEV-Genoa: certificate revoked$/),
    );
    const vcekRevoked = crlToPem(await makeSevSnpTestCrl(pki, { issuer: "ask", revoked: [pki.vcek] }));
    await assert.rejects(withTable(vcekRevoked), refusedWith(/^sev-snp chain: VCEK: certificate revoked$/));
  });

  test("a CRL not signed by the ARK it names, another PKI's, or a stale one is refused, not ignored", async () => {
    // The host could hand any CRL: one that would hide a revocation must not pass for AMD's.
    const forged = crlToPem(await makeSevSnpTestCrl(pki, { signer: "ask" }));
    await assert.rejects(withTable(forged), refusedWith(/^sev-snp CRL of ARK-Genoa: signature invalid$/));
    const foreign = crlToPem(await makeSevSnpTestCrl(other));
    await assert.rejects(
      withTable(foreign),
      refusedWith(/^sev-snp CRL 1: not issued by this chain's ARK-Genoa or SEV-Genoa$/),
    );
    const stale = crlToPem(await makeSevSnpTestCrl(pki, { now: new Date(now.getTime() - STALE_MS) }));
    await assert.rejects(withTable(stale), refusedWith(/^sev-snp CRL of ARK-Genoa: expired$/));
    await assert.rejects(
      withTable(`${tamperedPem(crlToPem(await makeSevSnpTestCrl(pki)))}`),
      refusedWith(/^sev-snp CRL/),
    );
  });

  test("a report from VMPL 1 is refused by name unless the policy allows it", async () => {
    const fromVmpl1 = await makeSevSnpReport(pki, REPORT_DATA, { ...GUEST, vmpl: 1 });
    const verdict = await withTable(undefined, fromVmpl1);
    assert.equal(verdict.vmpl, 1);
    assert.throws(
      () => enforcePolicy(PRODUCTION_POLICY, verdict, now),
      (e) =>
        e instanceof PolicyRejection &&
        /^a report from VMPL 1 is not the guest kernel's own: at most VMPL 0 is accepted by the production policy$/.test(
          e.reason,
        ),
    );
    enforcePolicy({ ...PRODUCTION_POLICY, maxVmpl: 1 }, verdict, now);
    enforcePolicy(DEVELOPMENT_POLICY, verdict, now);
    enforcePolicy(PRODUCTION_POLICY, await withTable(), now);
  });
});

/** A CRL's PEM with one base64 digit of its body changed (the DER no longer what was signed). */
function tamperedPem(pem: string): string {
  const at = pem.indexOf("\n") + 40;
  const digit = pem[at] === "A" ? "B" : "A";
  return pem.slice(0, at) + digit + pem.slice(at + 1);
}
