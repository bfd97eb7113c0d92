// The network the fault benchmarks run against: 3 `anonify node start` processes (test/operators'
// operator network), each reading the chain through TCP proxies of its own (test/support/tcp-proxy.ts)
// so a scenario can take the chain away from it, and the processes' warnings and errors tallied
// rather than kept (a soak writes far too many lines to hold).
import { appendFileSync } from "node:fs";
import { type OperatorNet, startOperatorNet } from "../../test/operators/operator-net.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";

export const NODES = 3;
/** pino's levels: what counts as a warning and as an error in the nodes' logs. */
const WARN_LEVEL = 40;
const ERROR_LEVEL = 50;
/** Error lines kept (the newest) to explain a scenario that went wrong. */
const KEPT_ERRORS = 10;

export type LogTally = { warnings: number; errors: number; lastErrors: string[] };

export type FaultNet = OperatorNet & {
  /** `rpc[node][k]`: the proxy in front of Anvil that node `node` was given as its k-th `--rpc`. */
  readonly rpc: TcpProxy[][];
  readonly tally: LogTally;
  /**
   * Holds a fault: resolves after `ms`, and not before the transfer stream has made a few attempts
   * since the call, so every fault is met by traffic however slow the machine is.
   */
  hold(ms: number): Promise<void>;
};

/** Counts a process's line by its pino level (lines that are not JSON are not counted). */
function tallyLine(tally: LogTally, line: string): void {
  // ANONIFY_FAULTS_LOG=FILE: every line appended there too, to see why a scenario went wrong.
  if (process.env.ANONIFY_FAULTS_LOG) appendFileSync(process.env.ANONIFY_FAULTS_LOG, `${line}\n`);
  const json = line.indexOf("{");
  if (json < 0) return;
  let level: number;
  let msg: unknown;
  try {
    ({ level, msg } = JSON.parse(line.slice(json)) as { level: number; msg: unknown });
  } catch {
    return;
  }
  if (level >= ERROR_LEVEL) {
    tally.errors++;
    tally.lastErrors.push(`${line.slice(0, json)}${String(msg)}`);
    if (tally.lastErrors.length > KEPT_ERRORS) tally.lastErrors.shift();
  } else if (level >= WARN_LEVEL) tally.warnings++;
}

/**
 * Starts the network with `endpoints` proxied RPC URLs per node (all forwarding); `hold` is wired by
 * the caller once its stream runs.
 */
export async function startFaultNet(
  endpoints: number,
  hold: (ms: number) => Promise<void>,
): Promise<FaultNet> {
  const rpc: TcpProxy[][] = [];
  const tally: LogTally = { warnings: 0, errors: 0, lastErrors: [] };
  const closeProxies = () => Promise.all(rpc.flat().map((p) => p.close()));
  try {
    const net = await startOperatorNet(NODES, {
      // A restarted node gets the proxies it had.
      rpc: async (anvilUrl, index) => {
        rpc[index] ??= await Promise.all(Array.from({ length: endpoints }, () => startTcpProxy(anvilUrl)));
        return rpc[index].map((p) => p.url);
      },
      onLine: (line) => tallyLine(tally, line),
    });
    const stop = net.stop;
    return Object.assign(net, {
      rpc,
      tally,
      hold,
      async stop() {
        await stop();
        await closeProxies();
      },
    });
  } catch (error) {
    await closeProxies();
    throw error;
  }
}
