// One node as an operator runs it: its host (EnclaveNode, with its enclave child process) and its
// HTTP API, listening. `anonify node start`, the in-process devnet and test fixtures start nodes
// through here; `stop` closes the API first (no new requests), then stops the host, which stops the
// enclave and flushes the sealed files.
import type { Hex } from "viem";
import { adminTokenPath } from "./admin-token.js";
import { buildNodeApi, type NodeApiLimits } from "./api/api.js";
import { EnclaveNode, type EnclaveNodeOptions } from "./node-host.js";

export type NodeServiceOptions = EnclaveNodeOptions & {
  /** Port of the API (0: any free port). */
  port?: number;
  /** Address the API listens on (default: loopback only). */
  host?: string;
  /** The API's limits; the API's defaults when omitted. */
  apiLimits?: Partial<NodeApiLimits>;
  /** The chain RPC told to clients instead of the node's own (`--public-rpc`). */
  publicRpcUrl?: string;
};

/** `adminToken`: the file holding the node's admin token (admin routes need it). */
export type NodeService = {
  url: string;
  address: Hex;
  hostDir: string;
  adminToken: string;
  node: EnclaveNode;
  stop(): Promise<void>;
};

export const DEFAULT_API_HOST = "127.0.0.1";

export async function startNodeService(options: NodeServiceOptions): Promise<NodeService> {
  const node = new EnclaveNode(options);
  try {
    await node.start();
  } catch (error) {
    await node.stop();
    throw error;
  }
  const api = buildNodeApi({
    node,
    contract: options.contract,
    chainId: options.wallet.chain.id,
    chainRpc: options.wallet.rpcUrl,
    limits: options.apiLimits,
    deployedAtBlock: options.deployedAtBlock,
    ...(options.publicRpcUrl ? { publicRpcUrl: options.publicRpcUrl } : {}),
    log: options.log?.child({ component: "api" }),
  });
  let url: string;
  try {
    url = await api.listen({ port: options.port ?? 0, host: options.host ?? DEFAULT_API_HOST });
  } catch (error) {
    await node.stop();
    throw error;
  }
  return {
    url,
    address: node.address,
    hostDir: options.hostDir,
    adminToken: adminTokenPath(options.hostDir),
    node,
    async stop() {
      await api.close();
      await node.stop();
    },
  };
}
