// Entry point of the enclave process. The host starts it with `--data-dir DIR` (where the platform
// keeps its files) and talks to it only through length-prefixed frames on stdin/stdout. It runs one
// app, imported from `anonify:app`, which the build resolves to that app's entry alone
// (src/build/app-bundle.ts): no other app is in the bundle or its measurement. The handler sandbox is
// installed first, before the app's module runs (src/app/sandbox-installed.ts). The same bundle is
// also what its signature workers run (src/enclave/signature-pool.ts): in one of those threads it
// serves signature checks alone, and nothing below `serveHost` runs.
import "../app/sandbox-installed.js";
import app from "anonify:app";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sha256 } from "@noble/hashes/sha2.js";
import { hexToBytes } from "viem";
import {
  BOUNDARY_VERSION,
  type BoundaryRequest,
  type BoundaryResponse,
  encodeFrame,
  FrameReader,
  MAX_FRAME_BYTES,
} from "../boundary/frames.js";
import { createEnclave, type EnclaveConfig } from "./enclave.js";
import type { EnclaveIdentity } from "./platform.js";
import { platformFor } from "./platforms/choose-platform.js";
import {
  SIGNATURE_WORKERS_ENV,
  SignaturePool,
  signatureWorkersFrom,
  workerOfThisBundle,
} from "./signature-pool.js";
import { isSignatureWorker } from "./signature-worker.js";

declare const __ANONIFY_ENCLAVE_CONFIG__: EnclaveConfig;

// A library's stray rejected promise must not take the enclave down: it is logged (by class only).
process.on("unhandledRejection", (reason) => {
  process.stderr.write(
    `enclave: unhandled rejection (${reason instanceof Error ? reason.name : typeof reason})\n`,
  );
});

// The host ends the enclave by closing its input, once what it last answered is kept. A stop signal
// sent to the whole process group (Ctrl-C, a service manager) reaches the host too, which then stops
// it in that order; ended by the signal first, the host would take it for a crash. (A host that dies
// closes the input as well.)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);

// stdout carries frames only; anything a library prints goes to stderr instead.
console.log = console.error;
console.info = console.error;

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function respond(response: BoundaryResponse): void {
  process.stdout.write(encodeFrame(response));
}

function parseRequest(body: Buffer): BoundaryRequest | BoundaryResponse {
  let message: unknown;
  try {
    message = JSON.parse(body.toString("utf8"));
  } catch {
    return { id: -1, ok: false, error: { code: "malformed_frame", message: "frame is not JSON" } };
  }
  const m = message as Partial<BoundaryRequest>;
  const id = typeof m?.id === "number" && Number.isSafeInteger(m.id) ? m.id : -1;
  if (id < 0 || typeof m.call !== "string") {
    return {
      id,
      ok: false,
      error: { code: "malformed_frame", message: "a request needs an integer id and a call" },
    };
  }
  if (m.v !== BOUNDARY_VERSION) {
    return {
      id,
      ok: false,
      error: { code: "version_mismatch", message: `boundary version ${BOUNDARY_VERSION} only` },
    };
  }
  return m as BoundaryRequest;
}

/** A call that runs this long is logged (name and duration only). */
const SLOW_CALL_MS = 500;

/** The enclave on its host's link: what the process runs unless it is a signature worker. */
async function serveHost(): Promise<void> {
  const config = __ANONIFY_ENCLAVE_CONFIG__;
  // The build bundles the app its config names; anything else is a broken build, not an app to run.
  if (app.name !== config.app) {
    process.stderr.write(`enclave: this build names app ${config.app} but holds ${app.name}\n`);
    process.exit(2);
  }
  const dataDir = argument("--data-dir");
  if (!dataDir) {
    process.stderr.write("enclave: --data-dir is required\n");
    process.exit(2);
  }
  // The platform is the build's, from its measured configuration; nothing the host passes chooses it.
  const platform = platformFor(config.platform, { dataDir, emulatedRoot: config.emulatedRoot });
  if (config.emulatedRoot !== undefined)
    process.stderr.write(
      `enclave: TEST BUILD: ${config.platform} over the emulated tree ${config.emulatedRoot}\n`,
    );
  // Hardware names the enclave's identity in its own evidence (what its peers compare with theirs); the
  // simulated platform measures the bundle it was loaded from, as SGX measures the enclave's pages.
  let measured: EnclaveIdentity;
  try {
    measured = platform.ownIdentity
      ? await platform.ownIdentity()
      : {
          measurement: sha256(readFileSync(fileURLToPath(import.meta.url))),
          signerMeasurement: hexToBytes(config.signerMeasurement),
        };
  } catch (error) {
    process.stderr.write(`enclave: cannot start on ${config.platform}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  // How many threads check signatures ahead (a performance setting: the checks are the same either way).
  let workers: number;
  try {
    workers = signatureWorkersFrom(process.env[SIGNATURE_WORKERS_ENV]);
  } catch (error) {
    process.stderr.write(`enclave: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const enclave = createEnclave({
    platform,
    measured,
    config,
    app,
    onInternalError: (kind, call) => process.stderr.write(`enclave: internal error (${kind}) in ${call}\n`),
    signaturePool:
      workers > 0
        ? new SignaturePool(workers, workerOfThisBundle, (what) => process.stderr.write(`enclave: ${what}\n`))
        : undefined,
  });

  // Calls run one at a time, in arrival order: the enclave's state has a single writer.
  let queue: Promise<void> = Promise.resolve();
  const reader = new FrameReader(MAX_FRAME_BYTES);
  process.stdin.on("data", (chunk: Buffer) => {
    for (const event of reader.push(chunk)) {
      if (event.kind === "oversized") {
        respond({
          id: -1,
          ok: false,
          error: {
            code: "frame_too_large",
            message: `frame of ${event.length} bytes exceeds ${MAX_FRAME_BYTES}`,
          },
        });
        continue;
      }
      const parsed = parseRequest(event.body);
      if ("ok" in parsed) {
        respond(parsed);
        continue;
      }
      queue = queue.then(async () => {
        const started = performance.now();
        respond(await enclave.handle(parsed));
        // A call's name and duration are the host's to see anyway; a slow one is worth an operator's eye.
        const ms = Math.round(performance.now() - started);
        if (ms >= SLOW_CALL_MS) process.stderr.write(`enclave: slow call ${parsed.call} took ${ms} ms\n`);
      });
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

// A thread of this bundle started as a signature worker serves its checks (signature-worker.ts) only.
if (!isSignatureWorker()) await serveHost();
