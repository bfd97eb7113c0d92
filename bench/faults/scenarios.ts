// The faults, one small object each: `inject` makes the fault and holds it (`net.hold`, which also
// waits for traffic to meet it); `recover`, if any, ends it. The fault ends when `inject` returns:
// the time to recover counts from there, so a restart's own time counts in it. To add a scenario
// (a chain reorganisation, an enclave killed), write one here and add it to SCENARIOS.
import { reorganise } from "../../test/support/reorg.js";
import { until } from "../../test/support/wait.js";
import { enclaveOf } from "./memory.js";
import type { FaultNet } from "./net.js";

export type Scenario = {
  /** Its name in ANONIFY_FAULTS_SCENARIOS and in the results. */
  name: string;
  /** What it does, for the results. */
  description: string;
  /** RPC URLs each node is given, each a TCP proxy in front of Anvil (`net.rpc[node][k]`); default 1. */
  rpcEndpoints?: number;
  inject(net: FaultNet): Promise<void>;
  recover?(net: FaultNet): Promise<void>;
};

/** The node the single-node faults hit: not node 1, where the token's issuer sends. */
const VICTIM = 1;
/** How long a killed node stays down: long enough that its senders fail and the others go on. */
const NODE_DOWN_MS = 5_000;
/** The chain's outage: connections dropped for this long, then accepted and never answered. */
const RPC_DROP_MS = 4_000;
const RPC_STALL_MS = 4_000;

export const nodeKill: Scenario = {
  name: "node-kill",
  description:
    `node ${VICTIM + 1}'s \`anonify node start\` process group (host and enclave) killed with SIGKILL, ` +
    `down ${NODE_DOWN_MS / 1000} s, started again on its data directory and port`,
  async inject(net) {
    await net.nodes[VICTIM]!.process.kill();
    await net.hold(NODE_DOWN_MS);
  },
  async recover(net) {
    await net.restart(VICTIM);
  },
};

export const rpcOutage: Scenario = {
  name: "rpc-outage",
  description:
    `every node's only chain RPC (a TCP proxy) drops its connections for ${RPC_DROP_MS / 1000} s, then ` +
    `accepts and never answers for ${RPC_STALL_MS / 1000} s, then forwards again`,
  async inject(net) {
    const set = (mode: "drop" | "stall") => {
      for (const [first] of net.rpc) first!.set(mode);
    };
    set("drop");
    await net.hold(RPC_DROP_MS);
    set("stall");
    await net.hold(RPC_STALL_MS);
  },
  async recover(net) {
    for (const [first] of net.rpc) first!.set("forward");
  },
};

export const rpcFailover: Scenario = {
  name: "rpc-failover",
  description:
    `node ${VICTIM + 1} is given two RPC URLs (\`--rpc A --rpc B\`); A drops every connection from then ` +
    "on (it never comes back)",
  rpcEndpoints: 2,
  async inject(net) {
    net.rpc[VICTIM]![0]!.set("drop");
  },
};

export const enclaveKill: Scenario = {
  name: "enclave-kill",
  description:
    `node ${VICTIM + 1}'s enclave process killed with SIGKILL (its host stays up and starts another, ` +
    "restored from what it kept sealed)",
  async inject(net) {
    const nodePid = net.nodes[VICTIM]!.process.pid;
    const enclave = enclaveOf(nodePid);
    if (enclave === undefined) throw new Error(`node ${VICTIM + 1} has no enclave process`);
    process.kill(enclave, "SIGKILL");
    // The fault lasts until the host has started another (recovery counts from there).
    await until("another enclave process", () => {
      const next = enclaveOf(nodePid);
      return next !== undefined && next !== enclave ? true : undefined;
    });
  },
};

/** Depths of the reorganisations, one after another, alternately with the dropped transactions mined again. */
const REORG_DEPTHS = [1, 2, 3, 5] as const;
/** Between two reorganisations: long enough for the stream to get batches into new blocks. */
const BETWEEN_REORGS_MS = 2_000;

export const reorgs: Scenario = {
  name: "reorgs",
  description:
    `chain reorganisations of depth ${REORG_DEPTHS.join(", ")} (\`anvil_reorg\`), ${BETWEEN_REORGS_MS / 1000} s ` +
    "apart, alternately with and without the dropped transactions mined again",
  async inject(net) {
    for (const [i, depth] of REORG_DEPTHS.entries()) {
      await net.hold(BETWEEN_REORGS_MS);
      await reorganise(net.anvil.rpcUrl, depth, i % 2 === 1);
    }
  },
};

export const SCENARIOS: readonly Scenario[] = [nodeKill, enclaveKill, reorgs, rpcOutage, rpcFailover];
