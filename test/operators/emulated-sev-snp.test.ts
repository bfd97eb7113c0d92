// A production network on emulated SEV-SNP: a test build (production profile, the `sev-snp` adapter,
// AMD's pinned ARKs replaced by a test PKI's ARK made here: src/build/pinned-roots.ts) runs on three
// nodes whose configfs-tsm is the emulated kernel of test-configfs.ts (provider sev_guest), answered
// by a quote service that signs attestation reports with that PKI's VCEK and gives the certificate
// table as `auxblob` (test-qgs.ts). The rest is the real path (test/support/emulated-network.ts): the
// attestation service under the production policy (with `--max-vmpl 1`, as an SVSM deployment runs
// it), the contract with debug refused and the guest's measurement allowed, the ARK's CRL published
// on chain before any node starts, members judging joiners with the real SEV-SNP verifier in their
// enclaves, a client with the production policy. The group forms and commands apply. Refused by
// name: the test build's evidence by a client pinning AMD's ARKs, another PKI's evidence, a debug
// guest; a forged CRL and an older one published on chain (members keep the genuine one, which
// registration picks); a joiner reporting from VMPL 1, until a signed policy allows VMPL 1.
// Node restarts: emulated-sev-snp-restart.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { bytesToHex, hexToBytes } from "viem";
import { crlToPem } from "../../src/attestation/sev-snp/crl.js";
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
import { sevSnpEvidence } from "../../src/attestation/sev-snp.js";
import { withWallet } from "../../src/chain/chain.js";
import { ENCLAVE_POLICIES } from "../../src/client/enclave-policy.js";
import { publishedCollateral } from "../../src/client/published-collateral.js";
import { startNodeService } from "../../src/host/node-service.js";
import { publishCollateral } from "../../src/operator/collateral.js";
import { publishDevPolicy } from "../../src/operator/policy.js";
import { encodeSevSnpCrlRecord } from "../../src/protocol/sev-snp-crl-record.js";
import { anvilKey } from "../support/chain.js";
import {
  assertCommandsApply,
  type EmulatedNetwork,
  emulatedNetworkTests,
} from "../support/emulated-network.js";
import { type SevSnpGuestRef, startEmulatedSevSnp } from "../support/emulated-sev-snp.js";
import { waitForGroup } from "../support/group.js";
import { newAccount } from "../support/token.js";
import { until } from "../support/wait.js";

const NODES = 3;
const ZERO_REPORT_DATA = new Uint8Array(64);
const HOUR_MS = 3_600_000;
/** The service's VMPL limit: an SVSM deployment's guest kernel runs at VMPL 1. */
const SVSM_VMPL = 1;

describe("a production network on emulated SEV-SNP", () => {
  let pki: SevSnpTestPki;
  let other: Promise<SevSnpTestPki>;
  let guest: SevSnpGuestRef;
  let crl: Uint8Array;
  let n: EmulatedNetwork;

  before(async () => {
    pki = await makeSevSnpTestPki();
    // Its RSA keys are made off the main thread while the network starts.
    other = makeSevSnpTestPki({ name: "Other Test" });
    crl = await makeSevSnpTestCrl(pki);
    ({ n, guest } = await startEmulatedSevSnp(pki, {
      nodes: NODES,
      sevSnpCrls: { crls: [crl], rootPem: pki.arkPem },
      maxVmpl: SVSM_VMPL,
    }));
  });

  emulatedNetworkTests(() => n, "sev-snp");

  const evidenceOf = async (from: SevSnpTestPki, of: SnpGuest) =>
    sevSnpEvidence(await makeSevSnpReport(from, ZERO_REPORT_DATA, of), sevSnpCertTable(from));

  test("refused by name: a client pinning AMD's ARKs, another PKI's evidence, a debug guest", async () => {
    await assert.rejects(
      n.client(newAccount(), 0, { ...ENCLAVE_POLICIES.production, measurements: [n.measurement] }),
      /is refused: its evidence does not verify: sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root/,
    );
    const { attest } = n;
    assert.deepEqual(await attest(await evidenceOf(await other, guest.current)), {
      status: 422,
      body: {
        code: "verification_failed",
        message: "sev-snp chain: the ASK or ASVK is not issued by a pinned AMD root (ARK-Genoa)",
      },
    });
    assert.deepEqual(await attest(await evidenceOf(pki, { ...guest.current, debug: true })), {
      status: 422,
      body: { code: "policy_rejected", message: "debug enclaves are not accepted by the production policy" },
    });
    assert.equal((await attest(await evidenceOf(pki, guest.current))).status, 200);
  });

  test("members hold the ARK's CRL from the chain and ignore a forged one and an older one by name; registration picks the genuine one", async () => {
    const running = n.net.running();
    const held = (await running[0]!.groupStatus()).group.collateral;
    assert.deepEqual(
      held.map(({ key, product }) => ({ key, product })),
      [{ key: "sev-snp:genoa", product: "Genoa" }],
    );
    const now = Date.now();
    const publishes: [Uint8Array, string][] = [
      [
        await makeSevSnpTestCrl(pki, { signer: "ask", now: new Date(now + HOUR_MS) }),
        "ignored: sev-snp CRL of ARK-Genoa: signature invalid",
      ],
      [
        await makeSevSnpTestCrl(pki, { now: new Date(now - HOUR_MS) }),
        "ignored: not fresher than the set held",
      ],
    ];
    for (const [published, outcome] of publishes) {
      // As an attacker would: straight to the contract, past the operator's own checks.
      await publishCollateral(n.chain.owner, n.chain.contract, encodeSevSnpCrlRecord([published]));
      await until(`every member: ${outcome}`, async () => {
        const views = await Promise.all(running.map((node) => node.groupStatus()));
        return views.every((v) => v.group.lastCollateralEvent?.outcome === outcome) || undefined;
      });
    }
    const evidence = bytesToHex(await evidenceOf(pki, guest.current));
    const target = { contract: n.chain.contract, deployedAtBlock: 0n };
    // What a host sends with its registration, as members hold it: the genuine CRL, no warning.
    const picked = await publishedCollateral(
      n.chain.owner.publicClient,
      target,
      "sev-snp",
      evidence,
      pki.arkPem,
    );
    assert.equal(picked, crlToPem(crl));
    assert.equal((await n.attest(hexToBytes(evidence), picked)).status, 200);
  });

  test("a joiner reporting from VMPL 1 is registered but refused by members by name, until a signed policy allows VMPL 1", async () => {
    const main = guest.current;
    guest.current = { ...main, vmpl: SVSM_VMPL };
    const index = n.nodes.length;
    const options = {
      ...n.options[0]!,
      hostDir: join(n.options[0]!.hostDir, "..", `node-${index + 1}`),
      wallet: withWallet(n.chain.owner, anvilKey(index + 1)),
      peers: n.nodes.map((node) => node.url),
    };
    n.options.push(options);
    n.nodes.push(await startNodeService(options));
    guest.current = main;
    const joiner = n.nodes[index]!.address.toLowerCase();
    const refusal =
      "a report from VMPL 1 is not the guest kernel's own: at most VMPL 0 is accepted by the production profile";
    await until("a member to decline the VMPL 1 joiner by name", async () => {
      const views = await Promise.all(
        n.net
          .running()
          .slice(0, NODES)
          .map((node) => node.groupStatus()),
      );
      const declined = views.flatMap((v) => v.group.declined);
      return (
        declined.some((d) => d.enclave.toLowerCase() === joiner && d.reason.includes(refusal)) || undefined
      );
    });
    await publishDevPolicy(n.chain.owner, n.chain.domain, {
      version: 1n,
      revocations: [],
      maxVmpl: SVSM_VMPL,
    });
    await waitForGroup(n.net.running(), {
      size: NODES + 1,
      where: (g) => g.members.some((m) => m.toLowerCase() === joiner),
    });
    await assertCommandsApply(n, index, 0);
  });
});
