// A production network on emulated SEV-SNP: a test build (production profile, the `sev-snp` adapter,
// AMD's pinned ARKs replaced by a test PKI's ARK made here: src/build/pinned-roots.ts) runs on three
// nodes whose configfs-tsm is the emulated kernel of test-configfs.ts (provider sev_guest), answered
// by a quote service that signs attestation reports with that PKI's VCEK and gives the certificate
// table as `auxblob` (test-qgs.ts). The rest is the real path (test/support/emulated-network.ts): the
// attestation service under the production policy, the contract with debug refused and the guest's
// measurement allowed, members judging joiners with the real SEV-SNP verifier in their enclaves, a
// client with the production policy. The group forms and commands apply. Refused by name: the test
// build's evidence by a client pinning AMD's ARKs, another PKI's evidence, a debug guest.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { sha384 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "viem";
import { measurementWord } from "../../src/attestation/binding.js";
import { makeSevSnpTestPki, type SevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import {
  makeSevSnpReport,
  type SnpGuest,
  sevSnpCertTable,
} from "../../src/attestation/sev-snp/test-report.js";
import { sevSnpEvidence } from "../../src/attestation/sev-snp.js";
import { ENCLAVE_POLICIES } from "../../src/client/enclave-policy.js";
import { sevSnpAnswer } from "../../src/enclave/platforms/test-qgs.js";
import {
  type EmulatedNetwork,
  emulatedNetworkTests,
  startEmulatedNetwork,
} from "../support/emulated-network.js";
import { newAccount } from "../support/token.js";

const NODES = 3;
const ZERO_REPORT_DATA = new Uint8Array(64);

describe("a production network on emulated SEV-SNP", () => {
  let pki: SevSnpTestPki;
  let other: Promise<SevSnpTestPki>;
  let guest: SnpGuest;
  let n: EmulatedNetwork;

  before(async () => {
    pki = await makeSevSnpTestPki();
    // Its RSA keys are made off the main thread while the network starts.
    other = makeSevSnpTestPki({ name: "Other Test" });
    n = await startEmulatedNetwork({
      platform: "sev-snp",
      nodes: NODES,
      roots: { amd: pki.arkPem },
      guest: async (bundle) => {
        // The launch digest the test chooses: of a VM image whose initrd holds this very bundle.
        guest = { measurement: sha384(hexToBytes(bundle.measurement)), version: 5 };
        return {
          measurement: measurementWord(bytesToHex(guest.measurement).slice(2)),
          answer: sevSnpAnswer(pki, () => guest),
        };
      },
    });
  });

  emulatedNetworkTests(() => n, "sev-snp");

  test("refused by name: a client pinning AMD's ARKs, another PKI's evidence, a debug guest", async () => {
    await assert.rejects(
      n.client(newAccount(), 0, { ...ENCLAVE_POLICIES.production, measurements: [n.measurement] }),
      /is refused: its evidence does not verify: sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root/,
    );
    const { attest } = n;
    const evidenceOf = async (from: SevSnpTestPki, of: SnpGuest) =>
      sevSnpEvidence(await makeSevSnpReport(from, ZERO_REPORT_DATA, of), sevSnpCertTable(from));
    assert.deepEqual(await attest(await evidenceOf(await other, guest)), {
      status: 422,
      body: {
        code: "verification_failed",
        message: "sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root (ARK-Genoa)",
      },
    });
    assert.deepEqual(await attest(await evidenceOf(pki, { ...guest, debug: true })), {
      status: 422,
      body: { code: "policy_rejected", message: "debug enclaves are not accepted by the production policy" },
    });
    assert.equal((await attest(await evidenceOf(pki, guest))).status, 200);
  });
});
