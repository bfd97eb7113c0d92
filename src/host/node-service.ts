// One node as an operator runs it: its host (EnclaveNode, with its enclave child process) and its
// HTTP API, listening. `anonify node start`, the in-process devnet and test fixtures start nodes
// through here; `stop` closes the API first (no new requests), then stops the host, which stops the
// enclave and flushes the sealed files.
import type { Server as TlsServer } from "node:tls";
import type { Hex } from "viem";
import { adminTokenPath } from "./admin-token.js";
import { buildNodeApi, type NodeApiLimits, type NodeApiTls } from "./api/api.js";
import { metricsServer, nodeApiMetrics } from "./api/api-metrics.js";
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
  /** Proxies whose X-Forwarded-For names the client, for the API's limits (`--trusted-proxy`). */
  trustedProxies?: readonly string[];
  /** The API's certificate and key (`--tls-cert/--tls-key`): it serves HTTPS, its URL https://. */
  tls?: NodeApiTls;
  /** `/metrics` on this port of its own (on `host`, or `metricsHost`) rather than the API's (`--metrics-port`). */
  metricsPort?: number;
  metricsHost?: string;
};

/** `adminToken`: the file holding the node's admin token (admin routes need it). */
export type NodeService = {
  url: string;
  /** Where `/metrics` is served when on a port of its own. */
  metricsUrl?: string;
  address: Hex;
  hostDir: string;
  adminToken: string;
  node: EnclaveNode;
  /** With `tls` only: serves this certificate and key to new connections (a renewed certificate). */
  setTls?(tls: NodeApiTls): void;
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
  const metrics = nodeApiMetrics(node);
  const metricsElsewhere = options.metricsPort !== undefined;
  const api = buildNodeApi({
    node,
    metrics,
    metricsElsewhere,
    contract: options.contract,
    chainId: options.wallet.chain.id,
    limits: options.apiLimits,
    deployedAtBlock: options.deployedAtBlock,
    ...(options.publicRpcUrl ? { publicRpcUrl: options.publicRpcUrl } : {}),
    log: options.log?.child({ component: "api" }),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const scrapes = metricsElsewhere ? metricsServer(metrics) : undefined;
  let url: string;
  let metricsUrl: string | undefined;
  try {
    url = await api.listen({ port: options.port ?? 0, host: options.host ?? DEFAULT_API_HOST });
    metricsUrl = await scrapes?.listen({
      port: options.metricsPort,
      host: options.metricsHost ?? options.host ?? DEFAULT_API_HOST,
    });
  } catch (error) {
    await api.close();
    await node.stop();
    throw error;
  }
  return {
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    address: node.address,
    hostDir: options.hostDir,
    adminToken: adminTokenPath(options.hostDir),
    node,
    ...(options.tls
      ? { setTls: (tls: NodeApiTls) => (api.server as unknown as TlsServer).setSecureContext(tls) }
      : {}),
    async stop() {
      await api.close();
      await scrapes?.close();
      await node.stop();
    },
  };
}
