// How the confidential path scales with the number of nodes: 1, 3, 5 and 7 nodes (auto-mine, batch
// 64), each a fresh devnet on embedded Anvil, beside a public ERC-20 (BaselineERC20) measured in the
// same run by the same code as the e2e bench. `npm run bench -- scale`; SCALE_NODES narrows the
// sweep (default "1,3,5,7"), BENCH_SECONDS sets each measured window (default 15 s here) and
// BENCH_SENDERS the senders (default 200).
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { confidentialRun, publicRun, type Run } from "./e2e.bench.js";

const NODE_COUNTS = (process.env.SCALE_NODES ?? "1,3,5,7").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const BATCH = 64;
/** Auto-mine: a block per transaction, so the chain's cost per transaction is the bound. */
const AUTO_MINE = undefined;

const round1 = (x: number) => Math.round(x * 10) / 10;

/** CPU ms per transfer: the bench's process, the enclaves together and on average, the chain. */
function cpuColumns(r: Run): { host: number; enclaves: number; perEnclave: number; anvil: number } {
  const entries = Object.entries(r.cpuMsPerTransfer);
  const enclaves = entries.filter(([k]) => k.startsWith("enclave")).map(([, v]) => v);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    // The bench's own process: the senders, and every node's host on the confidential path.
    host: sum(entries.filter(([k]) => !k.startsWith("enclave") && k !== "anvil").map(([, v]) => v)),
    enclaves: round1(sum(enclaves)),
    perEnclave: round1(sum(enclaves) / Math.max(1, enclaves.length)),
    anvil: r.cpuMsPerTransfer.anvil ?? Number.NaN,
  };
}

/** The machine's 1-minute load average: other work on it shows here, and throughput moves with it. */
const load = () => round1(loadavg()[0] ?? Number.NaN);

export async function run(outDir: string): Promise<void> {
  const loads = [load()];
  const baseline = await publicRun(AUTO_MINE, SECONDS);
  console.log(JSON.stringify(baseline));
  const runs: (Run & { nodes: number })[] = [];
  for (const nodes of NODE_COUNTS) {
    runs.push({ ...(await confidentialRun(BATCH, AUTO_MINE, { nodes, seconds: SECONDS })), nodes });
    console.log(JSON.stringify(runs.at(-1)));
    loads.push(load());
  }
  const date = new Date().toISOString();
  writeFileSync(
    join(outDir, "scale.json"),
    `${JSON.stringify({ date, seconds: SECONDS, batch: BATCH, loadAverages: loads, baseline, runs }, null, 2)}\n`,
  );
  const baseCpu = cpuColumns(baseline);
  const lines = [
    "# Scale benchmark: confidential transfers by number of nodes",
    "",
    `Measured by \`npm run bench -- scale\` on ${date.slice(0, 10)}: ${baseline.senders} senders, ${SECONDS} s per run, batch ${BATCH}, auto-mine, embedded Anvil, this 2-core machine; every run in the same process, the public ERC-20 first. The machine's 1-minute load average before the runs and after each: ${loads.join(", ")} (2 cores; the bench's own processes count in it, and so does any other work on the machine).`,
    "",
    "| nodes | transfers/s (each node applies all) | / public ERC-20 | p50 / p95 / p99 latency ms | gas per transfer | CPU ms per transfer: host | enclaves (all / each) | anvil |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| public ERC-20 | ${baseline.transfersPerSecond} | 1.00 | ${baseline.latencyMs.p50} / ${baseline.latencyMs.p95} / ${baseline.latencyMs.p99} | ${baseline.gasPerTransfer} | ${baseCpu.host} | - | ${baseCpu.anvil} |`,
    ...runs.map((r) => {
      const cpu = cpuColumns(r);
      const ratio = (r.transfersPerSecond / baseline.transfersPerSecond).toFixed(2);
      return `| ${r.nodes} | ${r.transfersPerSecond} | ${ratio} | ${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.p99} | ${r.gasPerTransfer} | ${cpu.host} | ${cpu.enclaves} / ${cpu.perEnclave} | ${cpu.anvil} |`;
    }),
    "",
    "How to read these: every node applies every command, so the network's throughput is what one node applies per second, and each added node adds an enclave that opens, verifies and applies every transfer again; the senders post to the nodes in turn, so each node seals the batches of its share. The host column is the one Node process that runs the bench's senders (signing and sealing each transfer) and every node's host; the enclaves column adds up all enclave processes' CPU per transfer. All processes share 2 cores (2,000 ms of CPU per second), so once the sum per transfer × transfers/s reaches that, more nodes lower throughput on this machine; on one machine per node they would not compete. Each figure is one run on a shared VM: throughput moves with the other work on it (the load averages above), CPU per transfer much less.",
    "",
  ];
  writeFileSync(join(outDir, "scale.md"), lines.join("\n"));
  console.log(lines.join("\n"));
}
