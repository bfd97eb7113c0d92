import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { DEVELOPMENT_POLICY } from "../attestation/policy.js";
import { loadServiceKey, type RunningService, startAttestationService } from "../attestation/service.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";
import { ANVIL_MNEMONIC, startAnvil } from "../chain/anvil.js";
import { connectLedger, deployAnonify, withWallet, writeAnonifyMined } from "../chain/chain.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { mnemonicKey } from "../chain/keys.js";
import { writeNetworkProfile } from "../client/network-profile.js";
import { adminTokenPath } from "./admin-token.js";
import { buildNodeApi, type NodeApiLimits } from "./api.js";
import { type LogTarget, loggerFor } from "./log.js";
import { EnclaveNode } from "./node-host.js";

/** The devnet's deployment record, kept beside the chain state so a second start resumes it. */
type DevnetRecord = { chainId: number; contract: Address; deployedAtBlock: string };

/** `adminToken`: the file holding the node's admin token (`POST /v1/group/rotate` needs it). */
export type DevnetNode = {
  url: string;
  address: Hex;
  hostDir: string;
  adminToken: string;
  node: EnclaveNode;
};

/** Where a running devnet lists its nodes (URL, enclave, admin token file), for the CLI's admin calls. */
export const DEVNET_NODES_FILE = "nodes.json";
export type DevnetNodesRecord = { url: string; enclave: Hex; adminToken: string }[];

export type Devnet = {
  rpcUrl: string;
  chainId: number;
  chainPid: number | undefined;
  contract: Address;
  deployedAtBlock: bigint;
  attestationUrl: string;
  /** The network profile users' clients read (`<dataDir>/network.json`), rewritten at each start. */
  networkProfile: string;
  nodes: DevnetNode[];
  resumed: boolean;
  stop(): Promise<void>;
};

/** Logs: each line names its node. */
export type DevnetOptions = LogTarget & {
  dataDir: string;
  nodes?: number;
  blockTime?: number;
  /** At most this many commands per batch (1 reproduces the original Anonify: a transaction per command). */
  maxBatchCommands?: number;
  /** The nodes' API limits (rates, waiting requests); the API's defaults when omitted. */
  apiLimits?: Partial<NodeApiLimits>;
};

/**
 * The local network: the embedded chain (state in `<dataDir>/chain`), the contract deployed once,
 * the attestation service in-process under the development policy, and `nodes` nodes, each with its
 * own enclave process, data directory and HTTP port. Users' clients take the chain and contract
 * from the network profile it writes (`<dataDir>/network.json`).
 */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  mkdirSync(options.dataDir, { recursive: true });
  const log = loggerFor(options);
  const anvil = await startAnvil({ dataDir: join(options.dataDir, "chain"), blockTime: options.blockTime });
  const started: { close(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.close();
    await anvil.stop();
  };
  try {
    const ledger = await connectLedger(anvil.rpcUrl);
    const owner = withWallet(ledger, mnemonicKey(ANVIL_MNEMONIC, 0));
    const recordPath = join(options.dataDir, "devnet.json");
    let record: DevnetRecord | undefined;
    if (existsSync(recordPath)) {
      record = JSON.parse(readFileSync(recordPath, "utf8")) as DevnetRecord;
      const code = await ledger.publicClient.getCode({ address: record.contract });
      if (!code || code === "0x") record = undefined; // the chain state was lost: deploy again
    }
    const resumed = record !== undefined;
    if (!record) {
      const contract = await deployAnonify(owner);
      const block = await ledger.publicClient.getBlockNumber();
      record = { chainId: anvil.chainId, contract, deployedAtBlock: block.toString() };
      writeFileSync(recordPath, JSON.stringify(record, null, 2));
    }
    const contract = record.contract;
    // The chain's RPC port is new at each start: the profile is written again every time.
    const networkProfile = join(options.dataDir, "network.json");
    writeNetworkProfile(networkProfile, {
      chainId: anvil.chainId,
      contract,
      deployedAtBlock: BigInt(record.deployedAtBlock),
      rpcUrl: anvil.rpcUrl,
    });

    const signer = loadServiceKey(join(options.dataDir, "attestation-service"));
    const service: RunningService = await startAttestationService({ signer, policy: DEVELOPMENT_POLICY });
    started.push({ close: () => service.close() });
    const measurement = (
      JSON.parse(readFileSync(`${DEFAULT_ENCLAVE_BUNDLE}.json`, "utf8")) as { measurement: Hex }
    ).measurement;
    // Owner policy the devnet needs, each set unless the chain already holds it.
    const state = { address: contract, abi: anonifyAbi } as const;
    const [signerTrusted, measurementAllowed, debugAllowed] = await Promise.all([
      ledger.publicClient.readContract({ ...state, functionName: "trustedSigners", args: [signer.address] }),
      ledger.publicClient.readContract({
        ...state,
        functionName: "allowedMeasurements",
        args: [measurement],
      }),
      ledger.publicClient.readContract({ ...state, functionName: "debugAllowed" }),
    ]);
    if (!signerTrusted) await writeAnonifyMined(owner, contract, "setTrustedSigner", [signer.address, true]);
    if (!measurementAllowed)
      await writeAnonifyMined(owner, contract, "setMeasurementAllowed", [measurement, true]);
    if (!debugAllowed) await writeAnonifyMined(owner, contract, "setDebugAllowed", [true]);

    const nodes: DevnetNode[] = [];
    for (let i = 1; i <= (options.nodes ?? 3); i++) {
      const hostDir = join(options.dataDir, `node-${i}`);
      const node = new EnclaveNode({
        hostDir,
        wallet: withWallet(ledger, mnemonicKey(ANVIL_MNEMONIC, i)),
        contract,
        deployedAtBlock: BigInt(record.deployedAtBlock),
        attestationUrl: service.url,
        maxBatchCommands: options.maxBatchCommands,
        peers: nodes.map((n) => n.url),
        log: log.child({ node: `node-${i}` }),
      });
      started.push({ close: () => node.stop() });
      await node.start();
      const api = buildNodeApi({
        node,
        contract,
        chainId: anvil.chainId,
        chainRpc: anvil.rpcUrl,
        limits: options.apiLimits,
      });
      const url = await api.listen({ port: 0, host: "127.0.0.1" });
      started.push({ close: () => api.close() });
      nodes.push({ url, address: node.address, hostDir, adminToken: adminTokenPath(hostDir), node });
    }
    const listed: DevnetNodesRecord = nodes.map((n) => ({
      url: n.url,
      enclave: n.address,
      adminToken: n.adminToken,
    }));
    writeFileSync(join(options.dataDir, DEVNET_NODES_FILE), JSON.stringify(listed, null, 2));
    return {
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      chainPid: anvil.pid,
      contract,
      deployedAtBlock: BigInt(record.deployedAtBlock),
      attestationUrl: service.url,
      networkProfile,
      nodes,
      resumed,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
