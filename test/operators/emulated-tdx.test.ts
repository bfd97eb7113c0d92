// A production network on emulated TDX: a test build (production profile, the `tdx` adapter, its
// pinned Intel root replaced by a test PKI made here: src/build/pinned-roots.ts) runs on three nodes
// whose configfs-tsm is the emulated kernel of test-configfs.ts, answered by a quote service that
// signs TDX quotes v4 with that PKI (test-qgs.ts). Everything else is the real path: the attestation
// service under the production policy, the contract with debug refused and the TDX measurement
// allowed, the collateral published on chain as an operator does, members judging joiners with the
// real DCAP verifier in their enclaves, a client with the production policy judging the enclave it
// encrypts to. The group forms, commands apply, a node restarts (TDX seals for the process only: it
// comes back as a new member with a snapshot) and the network goes on. Refused by name: evidence of
// another PKI, a debug TD, and the test build's evidence by a client pinning Intel's root.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { parseQuote, type TdReportBody } from "../../src/attestation/dcap/quote.js";
import { makeTdxTestPki, type TdxTestPki } from "../../src/attestation/dcap/test-pki.js";
import { makeTdxQuote, type TdRegisters } from "../../src/attestation/dcap/test-quote.js";
import { tdxMeasurement } from "../../src/attestation/dcap.js";
import { PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { type RunningService, startAttestationService } from "../../src/attestation/service.js";
import { rtmr3ForBundle } from "../../src/build/deploy-vm.js";
import {
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_CONFIG,
  type EnclaveBundle,
} from "../../src/build/enclave-bundle.js";
import { withWallet } from "../../src/chain/chain.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "../../src/client/enclave-policy.js";
import { type QuoteService, startQuoteService, tdxAnswer } from "../../src/enclave/platforms/test-qgs.js";
import { createLogger } from "../../src/host/log.js";
import { type NodeService, type NodeServiceOptions, startNodeService } from "../../src/host/node-service.js";
import { collateralRecord, publishCollateral } from "../../src/operator/collateral.js";
import {
  anvilKey,
  type LedgerFixture,
  ownerCall,
  revokeWithDevPolicy,
  startLedgerFixture,
} from "../support/chain.js";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { issueToken, newAccount, type Token } from "../support/token.js";

const NODES = 3;
const register = (byte: number) => new Uint8Array(48).fill(byte);
const ZERO_REPORT_DATA = new Uint8Array(64);

describe("a production network on emulated TDX", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-emulated-tdx-"));
  const logs: string[] = [];
  let pki: TdxTestPki;
  let bundle: EnclaveBundle;
  let td: TdRegisters;
  let measurement: Hex;
  let chain: LedgerFixture;
  let qgs: QuoteService;
  let service: RunningService;
  const nodes: NodeService[] = [];
  const options: NodeServiceOptions[] = [];
  let token: Token;

  const policy = (): EnclavePolicy => ({
    ...ENCLAVE_POLICIES.production,
    measurements: [measurement],
    roots: { intel: pki.rootPem },
  });
  const client = (account: LocalAccount, index: number, enclavePolicy = policy()) =>
    AnonifyClient.connect({
      network: { rpcUrl: chain.anvil.rpcUrl, chainId: chain.anvil.chainId, contract: chain.contract },
      node: nodes[index]!.url,
      account,
      enclavePolicy,
    });
  const net = {
    client: (a: LocalAccount, i: number) => client(a, i),
    running: () => nodes.map((n) => n.node),
  };

  before(async () => {
    pki = await makeTdxTestPki();
    const tree = join(dir, "tree");
    bundle = await buildEnclaveBundle({
      outFile: join(dir, "enclave/enclave.mjs"),
      config: {
        ...DEFAULT_ENCLAVE_CONFIG,
        platform: "tdx",
        profile: "production",
        emulatedRoot: tree,
        testRoots: { intel: pki.rootPem },
      },
    });
    // The VM image the test chooses: firmware, boot chain, and RTMR3 extended with the bundle's hash.
    const rtmr3 = hexToBytes(`0x${rtmr3ForBundle(bundle.measurement.slice(2)).rtmr3}`);
    td = { mrTd: register(0x11), rtmr: [register(0x22), register(0x33), register(0x44), rtmr3] };
    const own = parseQuote(await makeTdxQuote(pki, ZERO_REPORT_DATA, td)).body as TdReportBody;
    measurement = bytesToHex(tdxMeasurement(own));
    qgs = await startQuoteService(
      tree,
      tdxAnswer(pki, () => td),
    );

    chain = await startLedgerFixture();
    service = await startAttestationService({
      signer: privateKeyToAccount(generatePrivateKey()),
      policy: PRODUCTION_POLICY,
      roots: { intel: pki.rootPem },
      collateral: [pki.collateral],
    });
    await ownerCall(chain, "setTrustedSigner", [service.signer, true]);
    await ownerCall(chain, "setMeasurementAllowed", [measurement, true]);
    await ownerCall(chain, "setDebugAllowed", [false]);
    // The collateral every member judges quotes against, published as an operator does.
    const { record } = collateralRecord(pki.collateral, pki.rootPem);
    await publishCollateral(chain.owner, chain.contract, record);

    const deployedAtBlock = 0n;
    for (let i = 0; i < NODES; i++) {
      options.push({
        hostDir: join(dir, `node-${i + 1}`),
        wallet: withWallet(chain.owner, anvilKey(i + 1)),
        contract: chain.contract,
        deployedAtBlock,
        attestationUrl: service.url,
        bundle: bundle.path,
        peers: nodes.map((n) => n.url),
        log: createLogger({ write: (l) => logs.push(l) }).child({ node: `node-${i + 1}` }),
      });
      nodes.push(await startNodeService(options[i]!));
    }
    await waitForGroup(net.running());
    token = await issueToken(net, 0);
  });

  after(async () => {
    for (const node of nodes) await node.stop();
    await service?.close();
    await qgs?.close();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("every enclave runs on the tdx adapter and knows itself by its quote's measurement", async () => {
    for (const node of nodes) {
      const status = await node.node.enclaveStatus();
      assert.equal(status.platform, "tdx");
      assert.equal(status.measurement, measurement);
    }
    assert.ok(qgs.answered.length >= NODES * 2, "each enclave asked for its own report and its quote");
  });

  test("the group forms and commands apply, judged by a client with the production policy", async () => {
    const sender = await token.fundedAccount(100n);
    const recipient = newAccount();
    const receipt = await (await client(sender, 1)).call("transfer", { to: recipient.address, amount: "40" });
    assert.equal(receipt.status, "applied");
    await waitForApplied(net.running(), receipt.sequence + 1n);
    assert.equal(await (await client(recipient, 2)).query("balanceOf", {}), 40n);
  });

  test("refused by name: a client pinning Intel's root, another PKI's evidence, a debug TD", async () => {
    await assert.rejects(
      client(newAccount(), 0, { ...ENCLAVE_POLICIES.production, measurements: [measurement] }),
      /is refused: its evidence does not verify: collateral: missing/,
    );
    const attest = async (quote: Uint8Array, collateral?: unknown) => {
      const res = await fetch(new URL("/v1/attest", service.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ format: "tdx", evidence: bytesToHex(quote), collateral }),
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    };
    const other = await makeTdxTestPki({ name: "Other Test" });
    // With its own collateral, as a forger would send it: the chain is refused first, by name.
    const foreign = await makeTdxQuote(other, ZERO_REPORT_DATA, td);
    assert.deepEqual(await attest(foreign, other.collateral), {
      status: 422,
      body: {
        code: "verification_failed",
        message: "PCK chain: certificate chain does not start at the pinned root",
      },
    });
    const debug = await attest(await makeTdxQuote(pki, ZERO_REPORT_DATA, { ...td, debug: true }));
    assert.equal(debug.status, 422);
    assert.match(debug.body.message, /Debug mode is enabled/);
    assert.equal((await attest(await makeTdxQuote(pki, ZERO_REPORT_DATA, td))).status, 200);
  });

  test("a node restarts: its enclave comes back as a new member with a snapshot, and the network goes on", async () => {
    const index = 2;
    const before = nodes[index]!.address;
    await nodes[index]!.stop();
    nodes[index] = await startNodeService({
      ...options[index]!,
      peers: nodes.slice(0, index).map((n) => n.url),
    });
    const again = nodes[index]!.address;
    assert.notEqual(again, before, "TDX seals for the process: a new enclave identity");
    // The old enclave stays a member (its keys died with its process) until a signed policy revokes it.
    const isNew = (m: string) => m.toLowerCase() === again.toLowerCase();
    await waitForGroup(net.running(), { size: NODES + 1, where: (g) => g.members.some(isNew) });
    await revokeWithDevPolicy(chain, before, 1n);
    await waitForGroup(net.running(), {
      what: "the old enclave revoked",
      where: (g) => g.members.some(isNew) && !g.members.some((m) => m.toLowerCase() === before.toLowerCase()),
    });
    const sender = await token.fundedAccount(10n);
    const recipient = newAccount();
    const receipt = await (await client(sender, index)).call("transfer", {
      to: recipient.address,
      amount: "7",
    });
    assert.equal(receipt.status, "applied");
    await waitForApplied(net.running(), receipt.sequence + 1n);
    assert.equal(await (await client(recipient, 0)).query("balanceOf", {}), 7n);
  });
});
