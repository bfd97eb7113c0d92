// Test and benchmark support: signature workers started from the TypeScript sources under tsx, where
// the enclave bundle (whose own file a worker runs: signature-pool.ts) is not built. Node 20 does not
// carry tsx's loader into a worker, so a two-line bootstrap loads it there first.
import { Worker } from "node:worker_threads";
import type { SpawnWorker } from "./signature-pool.js";

const WORKER_SOURCE = new URL("./signature-worker.ts", import.meta.url).href;

/** A signature worker of signature-worker.ts, under tsx. */
export const workerUnderTsx: SpawnWorker = (workerData) =>
  new Worker(
    `import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(WORKER_SOURCE)}, ${JSON.stringify(WORKER_SOURCE)}));`,
    { eval: true, workerData },
  );
