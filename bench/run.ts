// `npm run bench [-- name ...]`: runs the named benchmarks (all by default) and writes bench/results/ (or BENCH_OUT_DIR).
import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_OUT_DIR: results elsewhere (a trial run on a busy machine leaves bench/results as it was).
const outDir = process.env.BENCH_OUT_DIR ?? join(here, "results");
mkdirSync(outDir, { recursive: true });
const available = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.slice(0, -".bench.ts".length))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${available.join(", ")}`);
  process.exit(1);
}
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`\n== ${name}`);
  const mod = (await import(join(here, `${name}.bench.ts`))) as { run: (outDir: string) => Promise<void> };
  await mod.run(outDir);
}
