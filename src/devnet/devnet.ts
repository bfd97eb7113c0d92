// The local network. Two compositions share every step here: `startDevnet` runs it all in this
// process (tests and benchmarks reach into its nodes), and `startProcessDevnet`
// (devnet-processes.ts, what `anonify devnet` runs) runs the attestation service and each node as
// an `anonify` process of its own, as independent operators would.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Address, Hex } from "viem";
import { DEVELOPMENT_POLICY } from "../attestation/policy.js";
import { loadServiceKey, type RunningService, startAttestationService } from "../attestation/service.js";
import { ANVIL_MNEMONIC, type Anvil, startAnvil } from "../chain/anvil.js";
import { connectLedger, withWallet } from "../chain/chain.js";
import { writeAtomic } from "../chain/files.js";
import { mnemonicKey } from "../chain/keys.js";
import { writeNetworkProfile } from "../client/network-profile.js";
import type { NodeApiLimits } from "../host/api/api.js";
import { type LogTarget, loggerFor } from "../host/log.js";
import type { EnclaveNode } from "../host/node-host.js";
import { startNodeService } from "../host/node-service.js";
import { builtBundle, deployNetwork, policyActions } from "../operator/deployment.js";
import { OperatorError } from "../operator/operator-checks.js";
import { applyPolicies } from "../operator/owner-policy.js";

/**
 * The devnet's deployment record, kept beside the chain state so a second start resumes it; `app`:
 * the app its nodes run (a record without one is of the default build's, erc20).
 */
type DevnetRecord = { chainId: number; contract: Address; deployedAtBlock: string; app?: string };

/** Where a running devnet lists its nodes (URL, enclave, admin token file), for the CLI's admin calls. */
export const DEVNET_NODES_FILE = "nodes.json";
export type DevnetNodesRecord = { url: string; enclave: Hex; adminToken: string }[];

/** A devnet node as the devnet reports it. `adminToken`: the file holding its admin token. */
export type DevnetNodeInfo = { url: string; address: Hex; hostDir: string; adminToken: string };
/** A node of the in-process devnet: its host too. */
export type DevnetNode = DevnetNodeInfo & { node: EnclaveNode };

/** What either devnet started: its endpoints, its nodes, and how to stop it all. */
export type DevnetOf<N extends DevnetNodeInfo> = {
  rpcUrl: string;
  chainId: number;
  chainPid: number | undefined;
  contract: Address;
  deployedAtBlock: bigint;
  attestationUrl: string;
  /** The network profile users' clients read (`<dataDir>/network.json`), rewritten at each start. */
  networkProfile: string;
  nodes: N[];
  resumed: boolean;
  stop(): Promise<void>;
};
export type Devnet = DevnetOf<DevnetNode>;

/** Logs: each line names its node. */
export type DevnetOptions = LogTarget & {
  dataDir: string;
  nodes?: number;
  blockTime?: number;
  /** At most this many commands per batch (1 reproduces the original Anonify: a transaction per command). */
  maxBatchCommands?: number;
  /** The nodes' API limits (rates, waiting requests); the API's defaults when omitted. */
  apiLimits?: Partial<NodeApiLimits>;
  /** The app the nodes run: its bundle from `npm run build` (the default build's app when omitted). */
  app?: string;
};

export const DEFAULT_DEVNET_NODES = 3;
/** The app of a devnet whose record names none: the default build's, before devnets named theirs. */
const DEFAULT_DEVNET_APP = "erc20";
/** The Anvil account that owns the contract; node i pays gas from account i. */
const OWNER_ACCOUNT = 0;

/** The gas key of devnet node `i` (1-based): an Anvil account of the public development mnemonic. */
export const devnetNodeKey = (i: number): Hex => mnemonicKey(ANVIL_MNEMONIC, i);
export const devnetNodeName = (i: number): string => `node-${i}`;

/** The devnet contract owner's key file (Anvil's account 0, a development key anyone knows). */
export const devnetOwnerKeyFile = (dataDir: string): string => join(dataDir, "keys", "owner.key");
export const devnetServiceDir = (dataDir: string): string => join(dataDir, "attestation-service");

/** The embedded chain, its state in `<dataDir>/chain` (so a second start resumes it). */
export function startDevnetChain(options: DevnetOptions): Promise<Anvil> {
  mkdirSync(options.dataDir, { recursive: true });
  return startAnvil({ dataDir: join(options.dataDir, "chain"), blockTime: options.blockTime });
}

/**
 * The devnet's contract: deployed once (its record in `<dataDir>/devnet.json`), with the policy the
 * devnet needs (the attestation service `signer` trusted, the bundle of `app` allowed (the default
 * bundle without one), simulated enclaves allowed), each set unless the chain holds it; the network
 * profile written again at each start (the chain's RPC port is new each time). A devnet runs one app
 * for good: a start with another is refused by name.
 */
export async function devnetDeployment(anvil: Anvil, dataDir: string, signer: Address, app?: string) {
  const bundle = builtBundle(app);
  const ownerKey = mnemonicKey(ANVIL_MNEMONIC, OWNER_ACCOUNT);
  const owner = withWallet(await connectLedger(anvil.rpcUrl), ownerKey);
  // The owner's key where its operator finds it (`anonify policy … --key`): Anvil's public account 0.
  mkdirSync(dirname(devnetOwnerKeyFile(dataDir)), { recursive: true, mode: 0o700 });
  writeAtomic(devnetOwnerKeyFile(dataDir), `${ownerKey}\n`);
  const policy = { trustSigners: [signer], allowMeasurements: [bundle.measurement], debugAllowed: true };
  const recordPath = join(dataDir, "devnet.json");
  let record: DevnetRecord | undefined;
  if (existsSync(recordPath)) {
    record = JSON.parse(readFileSync(recordPath, "utf8")) as DevnetRecord;
    const code = await owner.publicClient.getCode({ address: record.contract });
    if (!code || code === "0x") record = undefined; // the chain state was lost: deploy again
  }
  const resumed = record !== undefined;
  const runs = record?.app ?? DEFAULT_DEVNET_APP;
  if (record && runs !== bundle.app)
    throw new OperatorError(
      "wrong_app",
      `this devnet (${dataDir}) runs ${runs}, not ${bundle.app}: start it with --fresh for a new network of ${bundle.app}`,
    );
  if (record) await applyPolicies(owner, record.contract, policyActions(policy));
  else {
    const { profile } = await deployNetwork(owner, policy);
    record = {
      chainId: anvil.chainId,
      contract: profile.contract,
      deployedAtBlock: profile.deployedAtBlock.toString(),
      app: bundle.app,
    };
    writeFileSync(recordPath, JSON.stringify(record, null, 2));
  }
  const networkProfile = join(dataDir, "network.json");
  const deployedAtBlock = BigInt(record.deployedAtBlock);
  writeNetworkProfile(networkProfile, {
    chainId: anvil.chainId,
    contract: record.contract,
    deployedAtBlock,
    rpcUrl: anvil.rpcUrl,
  });
  return { owner, contract: record.contract, deployedAtBlock, networkProfile, resumed };
}

/**
 * The started devnet, either composition; its nodes listed in `<dataDir>/nodes.json` (what
 * `anonify group rotate` looks up).
 */
export function devnetStarted<N extends DevnetNodeInfo>(
  parts: {
    anvil: Anvil;
    deployment: Awaited<ReturnType<typeof devnetDeployment>>;
    attestationUrl: string;
    nodes: N[];
    stop(): Promise<void>;
  },
  dataDir: string,
): DevnetOf<N> {
  const { anvil, deployment, nodes } = parts;
  const listed: DevnetNodesRecord = nodes.map((n) => ({
    url: n.url,
    enclave: n.address,
    adminToken: n.adminToken,
  }));
  writeFileSync(join(dataDir, DEVNET_NODES_FILE), JSON.stringify(listed, null, 2));
  return {
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    chainPid: anvil.pid,
    contract: deployment.contract,
    deployedAtBlock: deployment.deployedAtBlock,
    attestationUrl: parts.attestationUrl,
    networkProfile: deployment.networkProfile,
    nodes,
    resumed: deployment.resumed,
    stop: parts.stop,
  };
}

/**
 * The local network in this process: the embedded chain (state in `<dataDir>/chain`), the contract
 * deployed once, the attestation service in-process under the development policy, and `nodes`
 * nodes, each with its own enclave process, data directory and HTTP port. Users' clients take the
 * chain and contract from the network profile it writes (`<dataDir>/network.json`).
 */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const log = loggerFor(options);
  const anvil = await startDevnetChain(options);
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
    await anvil.stop();
  };
  try {
    const signer = loadServiceKey(devnetServiceDir(options.dataDir));
    const service: RunningService = await startAttestationService({ signer, policy: DEVELOPMENT_POLICY });
    started.push({ stop: () => service.close() });
    const deployment = await devnetDeployment(anvil, options.dataDir, signer.address, options.app);
    const bundle = options.app === undefined ? {} : { bundle: builtBundle(options.app).path };
    const nodes: DevnetNode[] = [];
    for (let i = 1; i <= (options.nodes ?? DEFAULT_DEVNET_NODES); i++) {
      const earlier = nodes.map((n) => n.url);
      const running = await startNodeService({
        hostDir: join(options.dataDir, devnetNodeName(i)),
        wallet: withWallet(deployment.owner, devnetNodeKey(i)),
        contract: deployment.contract,
        deployedAtBlock: deployment.deployedAtBlock,
        attestationUrl: service.url,
        maxBatchCommands: options.maxBatchCommands,
        peers: earlier,
        // The devnet's chain is on this machine: its RPC is the one clients use.
        publicRpcUrl: anvil.rpcUrl,
        apiLimits: options.apiLimits,
        ...bundle,
        log: log.child({ node: devnetNodeName(i) }),
      });
      started.push(running);
      const { url, address, hostDir, adminToken, node } = running;
      nodes.push({ url, address, hostDir, adminToken, node });
    }
    return devnetStarted({ anvil, deployment, attestationUrl: service.url, nodes, stop }, options.dataDir);
  } catch (error) {
    await stop();
    throw error;
  }
}
