// The apply stage with the enclave's signature workers (issue #30): the e2e bench's apply-stage run
// (pre-sealed batches of 64 erc20 transfers, every user signature verified again on an enclave that
// never saw them) with 0 workers (every check inline, as before) and with 1, 2 and 4, side by side in
// one run, rounds interleaved so that the machine's load falls on each alike. Each applies the batches
// as `applyEvents` does (src/enclave/calls/events.ts): the run of batches in one call is checked ahead
// on the workers, and each batch is applied as soon as its own checks are back; "one batch per call"
// gives the workers one batch at a time, as a node that keeps up with the chain sees them.
// `npm run bench -- apply-workers`; BENCH_WORKERS narrows the sweep (default "0,1,2,4").
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { checkRunAhead } from "../src/enclave/batch-prefetch.js";
import { initialLedgerApp, type LedgerAppState } from "../src/enclave/confidential-ledger.js";
import { applyBatch } from "../src/enclave/ledger-batches.js";
import { SignaturePool } from "../src/enclave/signature-pool.js";
import { type BatchSubmitted, freshChecks, sealedRun } from "../src/enclave/test-batches.js";
import { workerUnderTsx } from "../src/enclave/test-signature-pool.js";

const WORKERS = (process.env.BENCH_WORKERS ?? "0,1,2,4").split(",").map(Number);
const PER_BATCH = 64;
const BATCHES = 40;
/** Rounds over every configuration; the median of each is reported (a shared 2-core machine is noisy). */
const ROUNDS = 5;
const MODES = ["one call", "one batch per call"] as const;
type Mode = (typeof MODES)[number];

type Pass = { commandsPerSecond: number; cpuMsPerCommand: number; checkedInline: number };

type Sealed = Awaited<ReturnType<typeof sealedRun>>;

/** A run of batches, and the state after its setup batch (where each pass starts). */
async function batchesToApply(): Promise<{ sealed: Sealed; start: LedgerAppState }> {
  const sealed = await sealedRun({ batches: BATCHES, perBatch: PER_BATCH });
  const start = applyBatch(
    initialLedgerApp(sealed.context.app),
    sealed.events[0]!,
    freshChecks(sealed.context),
  );
  return { sealed, start };
}

/**
 * Workers started and warm (module loaded, WebAssembly compiled, the checking code optimised by the
 * JIT, as in an enclave that has run a while) on a run of commands no pass applies.
 */
async function warmPool(workers: number, warmUp: Sealed): Promise<SignaturePool | undefined> {
  if (workers === 0) return undefined;
  const pool = new SignaturePool(workers, workerUnderTsx);
  await pool.check(warmUp.context.domain, warmUp.commands);
  return pool;
}

/** One timed pass over the transfer batches of a run the pool has not seen, from the state after its setup. */
async function pass(
  { sealed, start }: { sealed: Sealed; start: LedgerAppState },
  pool: SignaturePool | undefined,
  mode: Mode,
): Promise<Pass> {
  const context = { ...freshChecks(sealed.context), signaturePool: pool };
  const key = { epochKey: context.epochKey, mlsEpoch: context.mlsEpoch, domain: context.domain };
  const events: BatchSubmitted[] = sealed.events.slice(1);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let state = start;
  const calls = mode === "one call" ? [events] : events.map((e) => [e]);
  for (const call of calls) {
    let ahead = { ahead: new Map<number, Promise<void>>(), until: 0 };
    for (const [at, event] of call.entries()) {
      if (at >= ahead.until) ahead = checkRunAhead(call, at, key, context);
      await ahead.ahead.get(at);
      state = applyBatch(state, event, context);
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const commands = PER_BATCH * BATCHES;
  if (state.sequence !== BigInt(sealed.commands.length))
    throw new Error("the pass did not apply every command");
  return {
    commandsPerSecond: Math.round(commands / (ms / 1000)),
    cpuMsPerCommand: Math.round((cpu.user + cpu.system) / commands) / 1000,
    checkedInline: context.signatures.stats.checked,
  };
}

const HOW_TO_READ =
  "How to read these: with 0 workers every signature is verified on the enclave's thread inside `applyBatch`, as before; with N, the workers verify them ahead and `applyBatch` finds each in the cache (\"checked inline\" counts the verifications `applyBatch` ran itself). CPU per command counts every thread of the process: a worker decodes each command and computes its digest again (the apply path still does both), and the enclave's thread opens each batch once more and remembers each answer, so workers add CPU per command and pay only on cores that would otherwise be idle. On a 2-core machine 4 workers cannot do more than 2: where a figure with 4 is higher, the extra threads took a larger share of cores contended by other processes, not more cores. \"One batch per call\" waits for each batch's checks before applying it, so the workers and the enclave's thread do not overlap across batches.";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(outDir: string): Promise<void> {
  const warmUp = (await batchesToApply()).sealed;
  const pools = new Map<number, SignaturePool | undefined>();
  for (const workers of WORKERS) pools.set(workers, await warmPool(workers, warmUp));
  // The main thread warm too: one pass of the inline path, not counted.
  await pass(await batchesToApply(), undefined, "one call");
  const runs: Record<string, Pass[]> = {};
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of MODES) {
      // Commands none of the pools has seen: a worker's own cache finds none of them.
      const batches = await batchesToApply();
      for (const workers of WORKERS) {
        const result = await pass(batches, pools.get(workers), mode);
        runs[`${mode}|${workers}`] = [...(runs[`${mode}|${workers}`] ?? []), result];
        console.log(JSON.stringify({ round, mode, workers, ...result }));
      }
    }
  for (const pool of pools.values()) await pool?.close();
  const rows = MODES.flatMap((mode) =>
    WORKERS.map((workers) => {
      const passes = runs[`${mode}|${workers}`]!;
      return {
        mode,
        workers,
        commandsPerSecond: median(passes.map((p) => p.commandsPerSecond)),
        runs: passes.map((p) => p.commandsPerSecond),
        cpuMsPerCommand: median(passes.map((p) => p.cpuMsPerCommand)),
        checkedInline: Math.max(...passes.map((p) => p.checkedInline)),
      };
    }),
  );
  const inline = (mode: Mode) => rows.find((r) => r.mode === mode && r.workers === 0)?.commandsPerSecond;
  const date = new Date().toISOString();
  const cores = availableParallelism();
  writeFileSync(
    join(outDir, "apply-workers.json"),
    `${JSON.stringify({ date, cores, perBatch: PER_BATCH, batches: BATCHES, rounds: ROUNDS, rows }, null, 2)}\n`,
  );
  const lines = [
    "# The apply stage with signature workers",
    "",
    `Measured by \`npm run bench -- apply-workers\` on ${date.slice(0, 10)}, on this machine (${cores} cores, shared with other work): ${BATCHES} pre-sealed batches of ${PER_BATCH} erc20 transfers, each user signature verified again on an enclave that never saw them (fresh signature checks per pass, and a run of commands none of the workers has seen; the workers started and warmed up on another run first), applied as \`applyEvents\` applies them. Median of ${ROUNDS} rounds, the configurations interleaved in each round.`,
    "",
    "| batches per call | workers | commands/s | × inline | runs | CPU ms per command (all threads) | checked inline |",
    "|---|---:|---:|---:|---|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.workers} | ${r.commandsPerSecond} | ${(r.commandsPerSecond / (inline(r.mode) ?? r.commandsPerSecond) || 0).toFixed(2)} | ${r.runs.join(", ")} | ${r.cpuMsPerCommand} | ${r.checkedInline} |`,
    ),
    "",
    HOW_TO_READ,
    "",
  ];
  writeFileSync(join(outDir, "apply-workers.md"), lines.join("\n"));
  console.log(lines.join("\n"));
}
