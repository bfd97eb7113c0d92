// Faults (issue #15): commands acknowledged by a node are applied exactly once, on every node, through
// a node process killed and restarted, the chain's RPC dropping and stalling, and a node failing over
// to its second RPC, each under a steady stream of transfers on a network of 3 node processes; then a
// soak of ANONIFY_SOAK_MINUTES (default 30) with every process's memory sampled. The pieces live in
// bench/faults/. `npm run bench -- faults` runs all; ANONIFY_FAULTS_SCENARIOS=soak (or a comma list
// of names: node-kill, rpc-outage, rpc-failover, soak) picks some. → bench/results/faults.{md,json}
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { markdown, processStats } from "./faults/report.js";
import { runScenario, type ScenarioResult } from "./faults/run-scenario.js";
import { SCENARIOS } from "./faults/scenarios.js";
import { runSoak, type SoakRun } from "./faults/soak.js";

const SOAK = "soak";

function chosen(): string[] {
  const all = [...SCENARIOS.map((s) => s.name), SOAK];
  const asked = process.env.ANONIFY_FAULTS_SCENARIOS?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!asked) return all;
  const unknown = asked.filter((a) => !all.includes(a));
  if (unknown.length > 0)
    throw new Error(`unknown fault scenario(s): ${unknown.join(", ")}; known: ${all.join(", ")}`);
  return asked;
}

export async function run(outDir: string): Promise<void> {
  const names = chosen();
  const scenarios: ScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => names.includes(s.name))) {
    process.stdout.write(`scenario ${scenario.name}\n`);
    scenarios.push(await runScenario(scenario));
    process.stdout.write(
      `  ${JSON.stringify({ ...scenarios.at(-1)!.result, ...scenarios.at(-1)!.accounting })}\n`,
    );
  }
  let soak: SoakRun | undefined;
  if (names.includes(SOAK)) {
    process.stdout.write("soak\n");
    soak = await runSoak();
  }
  const meta = { date: new Date().toISOString().slice(0, 10), loadAverage: loadavg()[0]! };
  const md = markdown(scenarios, soak, meta);
  const soakJson = soak && { ...soak, stats: soak.result && processStats(soak.result.samples) };
  writeFileSync(
    join(outDir, "faults.json"),
    `${JSON.stringify({ meta, scenarios, soak: soakJson }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, "faults.md"), md);
  process.stdout.write(md);
}
