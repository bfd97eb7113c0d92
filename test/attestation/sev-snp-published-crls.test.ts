// AMD's SEV-SNP CRLs published on chain (`anonify collateral publish --sev-snp-crl`), judged as the
// operator, members (src/attestation/held-collateral.ts) and the attestation service judge them, on
// the test PKI (src/attestation/sev-snp/test-pki.ts). Attacks first: a CRL not signed by the ARK,
// another PKI's, an old one published after a newer one, a stale one sent with a registration: each
// refused or ignored by name, and the set held unchanged. Then the genuine set judges reports (no
// "no CRL" warning; a revoked ASK refused), and the service's VMPL limit (`--max-vmpl`).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { bytesToHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  applyCollateral,
  collateralFor,
  type HeldCollateral,
} from "../../src/attestation/held-collateral.js";
import { PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { buildAttestationService } from "../../src/attestation/service.js";
import { crlToPem, NO_CRL_WARNING } from "../../src/attestation/sev-snp/crl.js";
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
import { sevSnpCrlRecord } from "../../src/operator/collateral.js";
import { OperatorError } from "../../src/operator/operator-checks.js";
import { encodeSevSnpCrlRecord } from "../../src/protocol/sev-snp-crl-record.js";
import { refusedWith } from "../support/verification.js";

/** A 32-byte binding, then zeros: what the service requires of report data. */
const REPORT_DATA = new Uint8Array(64).fill(5, 0, 32);
const GUEST: SnpGuest = { measurement: new Uint8Array(48).fill(0x2a) };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Long enough ago that a CRL made then is past its next update (the test PKI's are good 30 days). */
const STALE_MS = 40 * DAY_MS;

describe("AMD's SEV-SNP CRLs published on chain", () => {
  let pki: SevSnpTestPki;
  let other: SevSnpTestPki;
  let evidence: Uint8Array;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);
  let logIndex = 0;
  const published = (crls: Uint8Array[]) => ({
    collateral: bytesToHex(encodeSevSnpCrlRecord(crls)),
    block: "1",
    logIndex: logIndex++,
  });
  const verify = (collateral: unknown, of = evidence) =>
    verifySevSnpReport(of, {
      now,
      rootCertificatePem: pki.arkPem,
      ...(collateral === undefined ? {} : { collateral }),
    });
  const operatorRefusal = (pattern: RegExp) => (error: unknown) =>
    error instanceof OperatorError && pattern.test(error.message);

  before(async () => {
    [pki, other] = await Promise.all([makeSevSnpTestPki(), makeSevSnpTestPki({ name: "Other Test" })]);
    evidence = sevSnpEvidence(await makeSevSnpReport(pki, REPORT_DATA, GUEST), sevSnpCertTable(pki));
  });

  test("the operator refuses by name a CRL not signed by the ARK, another PKI's, a stale one", async () => {
    const forged = await makeSevSnpTestCrl(pki, { signer: "ask" });
    const otherCrl = await makeSevSnpTestCrl(other);
    assert.throws(
      () => sevSnpCrlRecord([forged], pki.arkPem),
      operatorRefusal(/^sev-snp CRL of ARK-Genoa: signature invalid$/),
    );
    assert.throws(
      () => sevSnpCrlRecord([otherCrl], pki.arkPem),
      operatorRefusal(/^sev-snp CRL 1: not issued by a pinned AMD root \(ARK-Genoa\)$/),
    );
    const stale = await makeSevSnpTestCrl(pki, { now: at(-STALE_MS) });
    assert.throws(() => sevSnpCrlRecord([stale], pki.arkPem), operatorRefusal(/passed their next update/));
    const { head } = sevSnpCrlRecord([await makeSevSnpTestCrl(pki)], pki.arkPem);
    assert.equal(head.key, "sev-snp:genoa");
    assert.equal(head.product, "Genoa");
  });

  test("members hold the freshest genuine set per product; a forged one, another PKI's and an older one after a newer one are ignored by name", async () => {
    const root = pki.arkPem;
    const older = await makeSevSnpTestCrl(pki, { now: at(-DAY_MS) });
    const newer = await makeSevSnpTestCrl(pki);
    const first = applyCollateral({}, published([newer]), root);
    assert.equal(first.outcome.outcome, "held");
    assert.equal(first.outcome.key, "sev-snp:genoa");
    const cases: [Uint8Array, string][] = [
      // Fresher than the held set, so its signature is checked: not the ARK's.
      [
        await makeSevSnpTestCrl(pki, { signer: "ask", now: at(HOUR_MS) }),
        "ignored: sev-snp CRL of ARK-Genoa: signature invalid",
      ],
      [
        await makeSevSnpTestCrl(other, { now: at(HOUR_MS) }),
        "ignored: sev-snp CRL 1: not issued by a pinned AMD root (ARK-Genoa)",
      ],
      // Genuine, but it would bring back a CRL that does not yet revoke what the newer one may.
      [older, "ignored: not fresher than the set held"],
    ];
    for (const [crl, outcome] of cases) {
      const after = applyCollateral(first.held, published([crl]), root);
      assert.equal(after.outcome.outcome, outcome);
      assert.equal(after.held, first.held, "the held sets are unchanged");
    }
    const hex = bytesToHex(evidence);
    assert.equal(collateralFor({}, "sev-snp", hex), undefined, "none held: judged without, and warned");
    const judged = collateralFor(first.held, "sev-snp", hex);
    assert.equal(judged?.key, "sev-snp:genoa");
    assert.equal(judged?.collateral, crlToPem(newer));
    assert.equal((await verify(judged?.collateral)).warnings, undefined, "revocation checked: no warning");
    assert.deepEqual((await verify(undefined)).warnings, [NO_CRL_WARNING]);
    // AMD revokes the ASK: the fresher CRL is held, and the report is refused by name.
    const revoking = await makeSevSnpTestCrl(pki, { revoked: [pki.ask], now: at(2 * HOUR_MS) });
    const revoked: Readonly<Record<string, HeldCollateral>> = applyCollateral(
      first.held,
      published([revoking]),
      root,
    ).held;
    await assert.rejects(
      verify(collateralFor(revoked, "sev-snp", hex)?.collateral),
      refusedWith(/^sev-snp chain: SEV-Genoa: certificate revoked$/),
    );
  });

  test("the attestation service judges a report with the CRLs sent, and refuses stale or forged ones by name", async () => {
    const service = buildAttestationService({
      signer: privateKeyToAccount(generatePrivateKey()),
      policy: PRODUCTION_POLICY,
      roots: { amd: pki.arkPem },
      now: () => now,
    });
    const attest = async (collateral?: string, of = evidence) => {
      const res = await service.inject({
        method: "POST",
        url: "/v1/attest",
        payload: {
          format: "sev-snp",
          evidence: bytesToHex(of) as Hex,
          ...(collateral ? { collateral } : {}),
        },
      });
      return {
        status: res.statusCode,
        body: res.json() as { code?: string; message?: string; verdict?: { warnings?: string[] } },
      };
    };
    const stale = await attest(crlToPem(await makeSevSnpTestCrl(pki, { now: at(-STALE_MS) })));
    assert.equal(stale.status, 422);
    assert.equal(stale.body.code, "collateral_stale");
    assert.match(
      stale.body.message ?? "",
      /^the collateral passed its next update at .*: publish AMD's current CRLs for genoa/,
    );
    const forged = await attest(crlToPem(await makeSevSnpTestCrl(pki, { signer: "ask" })));
    assert.equal(forged.status, 422);
    assert.equal(forged.body.code, "collateral_untrusted");
    assert.match(forged.body.message ?? "", /sev-snp CRL of ARK-Genoa: signature invalid/);
    const genuine = await attest(crlToPem(await makeSevSnpTestCrl(pki)));
    assert.equal(genuine.status, 200);
    assert.equal(genuine.body.verdict?.warnings, undefined);
    assert.deepEqual((await attest()).body.verdict?.warnings, [NO_CRL_WARNING]);
    await service.close();
  });

  test("the service refuses a VMPL 1 report under the production policy, and accepts it with --max-vmpl 1", async () => {
    const fromVmpl1 = sevSnpEvidence(
      await makeSevSnpReport(pki, REPORT_DATA, { ...GUEST, vmpl: 1 }),
      sevSnpCertTable(pki),
    );
    const attest = async (maxVmpl?: number) => {
      const service = buildAttestationService({
        signer: privateKeyToAccount(generatePrivateKey()),
        policy: maxVmpl === undefined ? PRODUCTION_POLICY : { ...PRODUCTION_POLICY, maxVmpl },
        roots: { amd: pki.arkPem },
      });
      const res = await service.inject({
        method: "POST",
        url: "/v1/attest",
        payload: { format: "sev-snp", evidence: bytesToHex(fromVmpl1) },
      });
      await service.close();
      return { status: res.statusCode, body: res.json() as { code?: string; message?: string } };
    };
    assert.deepEqual(await attest(), {
      status: 422,
      body: {
        code: "policy_rejected",
        message:
          "a report from VMPL 1 is not the guest kernel's own: at most VMPL 0 is accepted by the production policy",
      },
    });
    assert.equal((await attest(1)).status, 200);
  });
});
