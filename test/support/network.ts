// Fixtures for tests that run the real pieces together: Anvil, the contract, the attestation
// service in-process, and enclave processes with their hosts' data directories.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type AttestationPolicy, DEVELOPMENT_POLICY } from "../../src/attestation/policy.js";
import { type RunningService, startAttestationService } from "../../src/attestation/service.js";
import { builtAppBundle, DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { connectLedger, type LedgerWallet, withWallet } from "../../src/chain/chain.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { type Devnet, type DevnetNode, startDevnet } from "../../src/devnet/devnet.js";
import { buildNodeApi, type NodeApiLimits } from "../../src/host/api/api.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { createLogger } from "../../src/host/log.js";
import type { EnclaveNode, EnclaveNodeOptions } from "../../src/host/node-host.js";
import { anvilKey, type LedgerFixture, type OwnedContract, ownerCall } from "./chain.js";
import { waitForGroup } from "./group.js";
import { TestNodes } from "./nodes.js";

export async function startService(
  policy: AttestationPolicy = DEVELOPMENT_POLICY,
  key: Hex = generatePrivateKey(),
): Promise<RunningService> {
  return startAttestationService({ signer: privateKeyToAccount(key), policy });
}

/** Trusts the service, allows the bundle's measurement and (by default) debug/simulated enclaves. */
export async function allowEnclaves(
  f: OwnedContract,
  service: RunningService,
  measurement: Hex,
  debugAllowed = true,
): Promise<void> {
  await ownerCall(f, "setTrustedSigner", [service.signer, true]);
  await ownerCall(f, "setMeasurementAllowed", [measurement, true]);
  await ownerCall(f, "setDebugAllowed", [debugAllowed]);
}

export function hostWallet(f: LedgerFixture, index: number): LedgerWallet {
  return withWallet(f.owner, anvilKey(index));
}

export function startEnclave(dir: string, logs?: string[], bundle = DEFAULT_ENCLAVE_BUNDLE): EnclaveProcess {
  return EnclaveProcess.start({ dataDir: join(dir, "enclave"), bundle, onLog: (l) => logs?.push(l) });
}

/** A devnet of its own for a test file: its data directory, its hosts' logs, clients, restarts. */
export type TestNet = {
  readonly net: Devnet;
  readonly dataDir: string;
  /** Every line the hosts logged, the restarted ones' too. */
  readonly logs: string[];
  /** The nodes now running, by index (a restarted node replaces its old self). */
  running(): EnclaveNode[];
  /** A client of `account` at node `index`; `fetch`, if given, makes its requests. */
  client(account: LocalAccount, index: number, fetch?: typeof globalThis.fetch): Promise<AnonifyClient>;
  /**
   * Stops node `index`, runs `whileDown`, and starts it again on its data directory as a fresh host
   * process would (with `changes` to the devnet's options for it), with a new API in front of it;
   * `net.nodes[index]` then names it.
   */
  restart(
    index: number,
    whileDown?: () => Promise<void>,
    changes?: Partial<EnclaveNodeOptions>,
  ): Promise<DevnetNode>;
  stop(): Promise<void>;
};

export type TestNetOptions = {
  /** Every node's API limits, restarted nodes' too (the API's defaults when omitted). */
  apiLimits?: Partial<NodeApiLimits>;
  /** The app every node runs, restarted nodes too: its bundle from `npm run build` (erc20's by default). */
  app?: string;
};

/** Starts a devnet of `nodes` nodes in a temporary directory and waits until their group formed. */
export async function startTestNet(nodes = 3, { apiLimits, app }: TestNetOptions = {}): Promise<TestNet> {
  const dataDir = mkdtempSync(join(tmpdir(), "anonify-net-"));
  const logs: string[] = [];
  const net = await startDevnet({
    dataDir,
    nodes,
    apiLimits,
    app,
    log: createLogger({ write: (l) => logs.push(l) }),
  });
  const restarted = new TestNodes();
  const apis: { close(): Promise<void> }[] = [];
  const running = () => net.nodes.map((n) => n.node);
  // What the devnet started node `index` with: its host directory, the Anvil account after the
  // contract owner's for gas, the deployment and the attestation service.
  const devnetOptions = async (index: number): Promise<EnclaveNodeOptions> => ({
    hostDir: net.nodes[index]!.hostDir,
    wallet: withWallet(await connectLedger(net.rpcUrl), anvilKey(index + 1)),
    contract: net.contract,
    deployedAtBlock: net.deployedAtBlock,
    attestationUrl: net.attestationUrl,
    log: createLogger({ write: (l) => logs.push(l) }).child({ node: `node-${index + 1}` }),
    ...(app === undefined ? {} : { bundle: builtAppBundle(app) }),
  });
  const stop = async () => {
    await restarted.stopAll();
    for (const api of apis) await api.close();
    await net.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForGroup(running());
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    net,
    dataDir,
    logs,
    running,
    client: (account, index, fetch) =>
      AnonifyClient.connect({
        network: { rpcUrl: net.rpcUrl, chainId: net.chainId, contract: net.contract },
        node: net.nodes[index]!.url,
        account,
        fetch,
      }),
    async restart(index, whileDown, changes) {
      const old = net.nodes[index]!;
      const node = await restarted.restart(old.node, whileDown, {
        ...(await devnetOptions(index)),
        ...changes,
      });
      const api = buildNodeApi({
        node,
        contract: net.contract,
        chainId: net.chainId,
        publicRpcUrl: net.rpcUrl,
        limits: apiLimits,
      });
      apis.push(api);
      const url = await api.listen({ port: 0, host: "127.0.0.1" });
      net.nodes[index] = {
        url,
        address: node.address,
        hostDir: old.hostDir,
        adminToken: old.adminToken,
        node,
      };
      return net.nodes[index];
    },
    stop,
  };
}
