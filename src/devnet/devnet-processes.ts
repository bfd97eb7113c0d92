// The devnet as independent operators would run it (what `anonify devnet` runs): the embedded chain
// as a child, the contract deployed (in this process: a one-shot step before anything else runs,
// with the devnet's resume record, so a process of its own would buy nothing), then
// `anonify attestation-service start` and one `anonify node start` per node as processes of their
// own. Killing one node's process is a real crash of one operator.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { writeAtomic } from "../chain/files.js";
import { type Logger, loggerFor } from "../host/log.js";
import type { EnclaveNode } from "../host/node-host.js";
import { builtBundle } from "../operator/deployment.js";
import { type ChildCommand, startChildCommand } from "./child-command.js";
import {
  DEFAULT_DEVNET_NODES,
  type DevnetNodeInfo,
  type DevnetOf,
  type DevnetOptions,
  devnetDeployment,
  devnetNodeKey,
  devnetNodeName,
  devnetServiceDir,
  devnetStarted,
  startDevnetChain,
} from "./devnet.js";

/** The app a node's enclave runs, as `node start` names it: name, code hash, state version, id. */
type NodeApp = Awaited<ReturnType<EnclaveNode["enclaveStatus"]>>["app"];
/** A node of the process devnet: its process id, and the app its enclave runs. */
export type ProcessDevnetNode = DevnetNodeInfo & { pid: number; app: NodeApp };
export type ProcessDevnet = DevnetOf<ProcessDevnetNode>;

/** `cli`: the `anonify` entry script the devnet runs its processes with (bin/anonify.mjs). */
export type ProcessDevnetOptions = Pick<DevnetOptions, "dataDir" | "nodes" | "blockTime" | "log" | "app"> & {
  cli: string;
};

type ServiceReady = { url: string; signer: Address };
type NodeReady = { url: string; enclave: Hex; adminToken: string; hostDir: string; app: NodeApp };

/** pino's level names, lowest first. */
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** A child's JSON log line again through the devnet's logger, under the child's name. */
function relay(log: Logger, name: string): (line: string) => void {
  const named = log.child({ node: name });
  return (line) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return named.info(line); // not a log record (a crash's stack trace): shown as it is
    }
    const { level, time: _time, msg, ...fields } = record;
    const label = LEVELS.find((l) => named.levels.values[l] === Number(level)) ?? "info";
    named[label](fields, String(msg ?? ""));
  };
}

export async function startProcessDevnet(options: ProcessDevnetOptions): Promise<ProcessDevnet> {
  const { dataDir, cli, app } = options;
  const log = loggerFor(options);
  // An app with no bundle is refused by name before anything starts.
  if (app !== undefined) builtBundle(app);
  const anvil = await startDevnetChain(options);
  const started: ChildCommand<unknown>[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    // Nodes first (they stop their enclaves and flush their sealed files), all at once; then the rest.
    await Promise.all(started.reverse().map((c) => c.stop()));
    await anvil.stop();
  };
  try {
    const service = await startChildCommand<ServiceReady>(
      cli,
      [
        "attestation-service",
        "start",
        "--policy",
        "development",
        "--data-dir",
        devnetServiceDir(dataDir),
        "--json",
      ],
      { onLine: relay(log, "attestation") },
    );
    started.push(service);
    const deployment = await devnetDeployment(anvil, dataDir, service.ready.signer, app);
    const keys = join(dataDir, "keys");
    mkdirSync(keys, { recursive: true, mode: 0o700 });
    const nodes: ProcessDevnetNode[] = [];
    for (let i = 1; i <= (options.nodes ?? DEFAULT_DEVNET_NODES); i++) {
      const name = devnetNodeName(i);
      const keyFile = join(keys, `${name}.key`);
      writeAtomic(keyFile, `${devnetNodeKey(i)}\n`); // mode 0600
      const args = [
        "node",
        "start",
        "--network",
        deployment.networkProfile,
        "--attestation",
        service.ready.url,
      ];
      args.push("--data-dir", join(dataDir, name), "--key", keyFile, "--json");
      // The devnet's chain is on this machine: its RPC is the one the wallet's network hint names.
      args.push("--public-rpc", anvil.rpcUrl);
      if (app !== undefined) args.push("--app", app);
      for (const earlier of nodes) args.push("--peer", earlier.url);
      const since = performance.now();
      const node = await startChildCommand<NodeReady>(cli, args, { onLine: relay(log, name) });
      started.push(node);
      const readyMs = Math.round(performance.now() - since);
      log.info({ node: name, pid: node.pid, readyMs }, `serving ${node.ready.url}`);
      void node.exited.then((code) => {
        if (!stopping) log.warn({ node: name, pid: node.pid, code }, "the node's process exited");
      });
      const { url, enclave, adminToken, hostDir } = node.ready;
      nodes.push({ url, address: enclave, adminToken, hostDir, pid: node.pid, app: node.ready.app });
    }
    return devnetStarted({ anvil, deployment, attestationUrl: service.ready.url, nodes, stop }, dataDir);
  } catch (error) {
    await stop();
    throw error;
  }
}
