// A production network on emulated hardware (test/operators/emulated-*.test.ts): a test build
// (production profile, a configfs-tsm adapter, its pinned vendor root replaced by a test PKI's:
// src/build/pinned-roots.ts) on NODES nodes whose configfs-tsm is the emulated kernel of
// test-configfs.ts (for gramine-sgx: Gramine's /dev/attestation, test-gramine-attestation.ts, under
// a stand-in launcher, emulated-gramine.ts), answered by a quote service the test's PKI signs for
// (test-qgs.ts). Everything
// else is the real path: the attestation service under the production policy with the test root,
// the contract with debug refused and the guest's measurement allowed, the collateral (if the
// platform has any) published on chain as an operator does, members judging joiners with the real
// verifiers in their enclaves, clients with the production policy and the test root.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { bytesToHex, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import type { RootOverrides } from "../../src/attestation/root-overrides.js";
import { type RunningService, startAttestationService } from "../../src/attestation/service.js";
import {
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_CONFIG,
  type EnclaveBundle,
} from "../../src/build/enclave-bundle.js";
import { withWallet } from "../../src/chain/chain.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "../../src/client/enclave-policy.js";
import {
  type QuoteAnswer,
  type QuoteService,
  startQuoteService,
} from "../../src/enclave/platforms/test-qgs.js";
import type { LauncherCommand } from "../../src/host/enclave-link.js";
import { createLogger } from "../../src/host/log.js";
import { type NodeService, type NodeServiceOptions, startNodeService } from "../../src/host/node-service.js";
import { collateralRecord, publishCollateral, sevSnpCrlRecord } from "../../src/operator/collateral.js";
import { DEV_POLICY_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { anvilKey, type LedgerFixture, ownerCall, startLedgerFixture } from "./chain.js";
import { waitForApplied, waitForGroup } from "./group.js";
import { issueToken, newAccount, type Token } from "./token.js";

export type EmulatedSetup = {
  platform: "tdx" | "sev-snp" | "gramine-sgx";
  /** The test PKI's roots: pinned in the build, and given to the attestation service and clients. */
  roots: RootOverrides;
  /**
   * Once the bundle is built (its emulated tree `tree`): the guest's measurement word, the quote
   * service's answer, and the launcher nodes start the enclave under (Gramine's), if any.
   */
  guest(
    bundle: EnclaveBundle,
    tree: string,
  ): Promise<{
    measurement: Hex;
    answer: (inblob: Uint8Array) => Promise<QuoteAnswer>;
    launcher?: LauncherCommand;
  }>;
  /**
   * PCS collateral (Intel's JSON shape) the operator publishes on chain, with its root: hosts send it
   * with their quotes to the service, which holds none of its own.
   */
  collateral?: { set: Record<string, string>; rootPem: string };
  /** AMD's CRLs (DER, one product) the operator publishes on chain, with the ARK they verify to. */
  sevSnpCrls?: { crls: Uint8Array[]; rootPem: string };
  /** The service's highest SEV-SNP VMPL (`--max-vmpl`; production's own, 0, when omitted). */
  maxVmpl?: number;
  nodes?: number;
};

export type EmulatedNetwork = {
  bundle: EnclaveBundle;
  measurement: Hex;
  chain: LedgerFixture;
  qgs: QuoteService;
  service: RunningService;
  /** Running nodes by index (a test may replace one), and the options each was started with. */
  nodes: NodeService[];
  options: NodeServiceOptions[];
  token: Token;
  /** The production policy allowing the guest's measurement, with the test roots. */
  policy(): EnclavePolicy;
  client(account: LocalAccount, index: number, policy?: EnclavePolicy): Promise<AnonifyClient>;
  /** POST /v1/attest to the service, as a host does: its status and body. */
  attest(
    evidence: Uint8Array,
    collateral?: unknown,
  ): Promise<{ status: number; body: { code: string; message: string } }>;
  net: { client(a: LocalAccount, i: number): Promise<AnonifyClient>; running(): NodeService["node"][] };
  close(): Promise<void>;
};

const DEFAULT_NODES = 3;
/** What the enclave and its evidence name the platform: Gramine's adapter names the hardware, SGX. */
const evidenceFormat = (platform: EmulatedSetup["platform"]) =>
  platform === "gramine-sgx" ? "sgx" : platform;

export async function startEmulatedNetwork(setup: EmulatedSetup): Promise<EmulatedNetwork> {
  const dir = mkdtempSync(join(tmpdir(), `anonify-emulated-${setup.platform}-`));
  const logs: string[] = [];
  const tree = join(dir, "tree");
  const nodes: NodeService[] = [];
  const options: NodeServiceOptions[] = [];
  const bundle = await buildEnclaveBundle({
    outFile: join(dir, "enclave/enclave.mjs"),
    config: {
      ...DEFAULT_ENCLAVE_CONFIG,
      platform: setup.platform,
      profile: "production",
      emulatedRoot: tree,
      testRoots: setup.roots,
    },
  });
  const { measurement, answer, launcher } = await setup.guest(bundle, tree);
  const qgs = await startQuoteService(tree, answer);
  const chain = await startLedgerFixture();
  const service = await startAttestationService({
    signer: privateKeyToAccount(generatePrivateKey()),
    policy:
      setup.maxVmpl === undefined ? PRODUCTION_POLICY : { ...PRODUCTION_POLICY, maxVmpl: setup.maxVmpl },
    roots: setup.roots,
  });
  await ownerCall(chain, "setTrustedSigner", [service.signer, true]);
  await ownerCall(chain, "setMeasurementAllowed", [measurement, true]);
  await ownerCall(chain, "setDebugAllowed", [false]);
  if (setup.collateral) {
    // The collateral every member judges quotes against and every host registers with, published
    // as an operator does, before any node starts.
    const { record } = collateralRecord(setup.collateral.set, setup.collateral.rootPem);
    await publishCollateral(chain.owner, chain.contract, record);
  }
  if (setup.sevSnpCrls) {
    const { record } = sevSnpCrlRecord(setup.sevSnpCrls.crls, setup.sevSnpCrls.rootPem);
    await publishCollateral(chain.owner, chain.contract, record);
  }

  const policy = (): EnclavePolicy => ({
    ...ENCLAVE_POLICIES.production,
    measurements: [measurement],
    roots: setup.roots,
  });
  const client = (account: LocalAccount, index: number, enclavePolicy = policy()) =>
    AnonifyClient.connect({
      // The profile a deployment's users get: its build and its policy keys, so the client folds the
      // signed documents (revocations, a higher VMPL) as members do.
      network: {
        rpcUrl: chain.anvil.rpcUrl,
        chainId: chain.anvil.chainId,
        contract: chain.contract,
        trust: { measurements: [measurement], policyKeys: DEV_POLICY_KEYS },
      },
      node: nodes[index]!.url,
      account,
      enclavePolicy,
    });
  const net = {
    client: (a: LocalAccount, i: number) => client(a, i),
    running: () => nodes.map((n) => n.node),
  };
  const attest = async (evidence: Uint8Array, collateral?: unknown) => {
    const res = await fetch(new URL("/v1/attest", service.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        format: evidenceFormat(setup.platform),
        evidence: bytesToHex(evidence),
        collateral,
      }),
    });
    return { status: res.status, body: (await res.json()) as { code: string; message: string } };
  };
  const close = async () => {
    for (const node of nodes) await node.stop();
    await service.close();
    await qgs.close();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < (setup.nodes ?? DEFAULT_NODES); i++) {
      options.push({
        hostDir: join(dir, `node-${i + 1}`),
        wallet: withWallet(chain.owner, anvilKey(i + 1)),
        contract: chain.contract,
        deployedAtBlock: 0n,
        attestationUrl: service.url,
        bundle: bundle.path,
        ...(launcher ? { enclaveLauncher: launcher } : {}),
        peers: nodes.map((n) => n.url),
        log: createLogger({ write: (l) => logs.push(l) }).child({ node: `node-${i + 1}` }),
      });
      nodes.push(await startNodeService(options[i]!));
    }
    await waitForGroup(net.running());
    const token = await issueToken(net, 0);
    return {
      bundle,
      measurement,
      chain,
      qgs,
      service,
      nodes,
      options,
      token,
      policy,
      client,
      attest,
      net,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * What every emulated network shows, registered in the caller's `describe` (whose `before` starts
 * the network): each enclave on its adapter, commands applied; and the network closed after.
 */
export function emulatedNetworkTests(
  network: () => EmulatedNetwork | undefined,
  platform: EmulatedSetup["platform"],
) {
  after(async () => {
    await network()?.close();
  });
  test(`every enclave runs on the ${platform} adapter and knows itself by its evidence's measurement`, () =>
    assertEveryEnclaveOn(network()!, platform));
  test("the group forms and commands apply, judged by a client with the production policy", () =>
    assertCommandsApply(network()!));
}

/** Every enclave runs on `platform`, knows itself by its evidence's measurement, and asked for it. */
async function assertEveryEnclaveOn(n: EmulatedNetwork, platform: EmulatedSetup["platform"]): Promise<void> {
  const reported = evidenceFormat(platform);
  for (const node of n.nodes) {
    const status = await node.node.enclaveStatus();
    assert.equal(status.platform, reported);
    assert.equal(status.measurement, n.measurement);
  }
  assert.ok(
    n.qgs.answered.length >= n.nodes.length * 2,
    "each enclave asked for its own report and its evidence",
  );
}

/** A transfer sent through node `via` applies on all (read through `readVia`), as clients with the production policy see it. */
export async function assertCommandsApply(n: EmulatedNetwork, via = 1, readVia = 2): Promise<void> {
  const sender = await n.token.fundedAccount(100n);
  const recipient = newAccount();
  const receipt = await (await n.client(sender, via)).call("transfer", {
    to: recipient.address,
    amount: "40",
  });
  assert.equal(receipt.status, "applied");
  await waitForApplied(n.net.running(), receipt.sequence + 1n);
  assert.equal(await (await n.client(recipient, readVia)).query("balanceOf", {}), 40n);
}
