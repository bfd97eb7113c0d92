// The client judges an SEV-SNP report's VMPL as members do: a report made at VMPL 1 or more comes from
// software beside the guest kernel (an SVSM), which a guest's own code cannot vouch for; the
// production policy takes VMPL 0 only, unless a signed policy document of the deployment admits more
// (src/client/enclave-trust.ts raises `maxVmpl` from it). Real-format reports from the test PKI.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { bytesToHex, padHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { makeSevSnpTestPki, type SevSnpTestPki } from "../attestation/sev-snp/test-pki.js";
import { makeSevSnpReport, type SnpGuest, sevSnpCertTable } from "../attestation/sev-snp/test-report.js";
import { sevSnpEvidence, verifySevSnpReport } from "../attestation/sev-snp.js";
import { enclaveVerdict, type Registration } from "./enclave-evidence.js";
import { ENCLAVE_POLICIES, verdictRefusal } from "./enclave-policy.js";

const REPORT_DATA = new Uint8Array(64).fill(9);
const GUEST: SnpGuest = { measurement: new Uint8Array(48).fill(0x5a) };

describe("a client judges an SEV-SNP report's VMPL", () => {
  let pki: SevSnpTestPki;
  before(async () => {
    pki = await makeSevSnpTestPki();
  });

  /** The client's verdict on a report of `guest`, as it reaches it from the registration's evidence. */
  const verdictOf = async (guest: SnpGuest) => {
    const evidence = sevSnpEvidence(await makeSevSnpReport(pki, REPORT_DATA, guest), sevSnpCertTable(pki));
    const registration: Registration = {
      address: privateKeyToAccount(generatePrivateKey()).address,
      platform: "sev-snp",
      hpkePublicKey: padHex("0x04", { size: 65 }),
      app: padHex("0xa1", { size: 32 }),
      evidence: bytesToHex(evidence),
    };
    const verified = await verifySevSnpReport(evidence, { now: new Date(), rootCertificatePem: pki.arkPem });
    return enclaveVerdict(registration, verified);
  };

  test("production refuses a report from VMPL 1 by name, takes VMPL 0, and takes 1 where a signed policy admits it", async () => {
    const [kernel, beside] = await Promise.all([verdictOf(GUEST), verdictOf({ ...GUEST, vmpl: 1 })]);
    assert.equal(beside.vmpl, 1);
    const pinned = {
      ...ENCLAVE_POLICIES.production,
      measurements: [kernel.measurement],
      tcbStatuses: [kernel.tcbStatus],
    };
    assert.equal(verdictRefusal(pinned, kernel), undefined, "VMPL 0, pinned: accepted");
    assert.equal(
      verdictRefusal(pinned, beside),
      "its report is from VMPL 1, not the guest kernel's own: the policy takes at most VMPL 0",
    );
    assert.equal(verdictRefusal({ ...pinned, maxVmpl: 1 }, beside), undefined, "admitted up to VMPL 1");
    assert.equal(verdictRefusal(ENCLAVE_POLICIES.development, beside), undefined, "development takes any");
  });
});
