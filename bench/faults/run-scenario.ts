// One scenario under a steady stream: warm up, inject the fault, end it, wait (while the stream goes
// on) until every node applies again and all agree, send a little more, then account for the ledger.
import { until } from "../../test/support/wait.js";
import { type LoadedRun, underLoad } from "./load.js";
import { type Recovery, SequenceMonitor } from "./monitor.js";
import type { Scenario } from "./scenarios.js";

/** The stream the scenarios run under: two senders per node, light enough for a 2-core machine. */
export const SCENARIO_SENDERS = 6;
export const SCENARIO_RATE = 6;
/** Transfers acknowledged before the fault, so some are queued, some in flight, some applied. */
const WARMUP_ACKNOWLEDGED = 20;
/** Transfers acknowledged after the recovery, so the network is seen serving again. */
const TAIL_ACKNOWLEDGED = 20;
/** How long the network may take to recover before the scenario counts it as not recovered. */
const RECOVERY_TIMEOUT_MS = 180_000;
const STREAM_TIMEOUT_MS = 120_000;

export type FaultTimes = Recovery & {
  /** How long the fault was held (inject). */
  faultMs: number;
  /** How long `recover` took (a restart until the node serves). */
  recoverCallMs: number;
  /** Commands the network applied while the fault held (any node): did the fault stop it? */
  appliedWhileFaulted: number;
  recovered: boolean;
  /** Connections each node's RPC proxies took, by node: who served the chain. */
  rpcConnections: number[][];
};

export type ScenarioResult = LoadedRun<FaultTimes> & { name: string; description: string };

export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const load = { endpoints: scenario.rpcEndpoints ?? 1, senders: SCENARIO_SENDERS, rate: SCENARIO_RATE };
  const run = await underLoad(load, async ({ net, stream }) => {
    const monitor = new SequenceMonitor(() => net.nodes.map((n) => n.url));
    try {
      await stream.moreAcknowledged(WARMUP_ACKNOWLEDGED, STREAM_TIMEOUT_MS);
      const start = Date.now();
      await scenario.inject(net);
      const end = Date.now();
      await scenario.recover?.(net);
      const recoverCallMs = Date.now() - end;
      const isDone = (r: Recovery) => r.firstAppliedMs !== undefined && r.allEqualMs !== undefined;
      const recovery = await until(
        `${scenario.name}: every node to apply past the fault and agree`,
        () => {
          const r = monitor.recovery(end);
          return isDone(r) ? r : undefined;
        },
        RECOVERY_TIMEOUT_MS,
      ).catch(() => monitor.recovery(end));
      await stream.moreAcknowledged(TAIL_ACKNOWLEDGED, STREAM_TIMEOUT_MS);
      return {
        ...recovery,
        faultMs: end - start,
        recoverCallMs,
        appliedWhileFaulted: Number(monitor.reached(end) - monitor.reached(start)),
        recovered: isDone(recovery),
        rpcConnections: net.rpc.map((endpoints) => endpoints.map((p) => p.connections)),
      };
    } finally {
      await monitor.stop();
    }
  });
  return { name: scenario.name, description: scenario.description, ...run };
}
