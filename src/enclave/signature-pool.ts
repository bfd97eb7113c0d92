// The enclave's signature workers: N threads of the enclave process (signature-worker.ts) that check
// the user signatures of the batches about to be applied, so that the cores a server has share the
// one cost that dominates applying (bench/results/profile.md). They are threads of the same process,
// running the same measured bundle (the worker is `new Worker(new URL(import.meta.url))`, the one
// form src/build/worker-guard.ts lets into the bundle), so they are inside the same TEE; still, only
// public bytes (signed commands and the ledger's domain) are sent to them.
//
// A worker's answer only fills the enclave's signature cache ahead of time (batch-prefetch.ts): the
// synchronous apply path still asks `SignatureCheck.verify` for every command, and whatever a worker
// did not answer — it crashed, was terminated, answered out of shape — is verified there, inline. A
// lost worker is replaced (up to MAX_WORKER_RESTARTS, then the checks stay on the enclave's thread).
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { LedgerDomain } from "../protocol/digests.js";
import {
  type CheckAnswer,
  type CheckJob,
  type CheckOutcome,
  SIGNATURE_WORKER_ROLE,
} from "./signature-worker.js";

/** Cores left to the node's host and the enclave's own thread before any goes to a signature worker. */
const CORES_KEPT = 2;
/** Workers an enclave starts by default at most (the apply bench measured up to 4). */
const MAX_DEFAULT_WORKERS = 4;

/**
 * Workers an enclave starts unless told (`ANONIFY_SIGNATURE_WORKERS`): one per core beyond the two
 * a node's host and the enclave's thread use, up to 4; none on 2 cores. Measured on the 2-core
 * development VM (bench/results/apply-workers.md): a worker moves the checks off the enclave's
 * thread but adds CPU per command (each command is decoded and digested twice, and messaged), so
 * it pays only where a core would otherwise be idle, which on 2 cores beside the host it is not.
 */
export const defaultSignatureWorkers = (cores: number = availableParallelism()): number =>
  Math.max(0, Math.min(cores - CORES_KEPT, MAX_DEFAULT_WORKERS));
/**
 * More threads than this is a mistake, not a deployment: each holds its own heap and WebAssembly,
 * and Gramine's manifest allows 32 threads in all (deploy-gramine.ts), of which Node uses about 11.
 */
export const MAX_SIGNATURE_WORKERS = 8;
/** Commands per message to a worker: small enough to spread a batch of 64 over 4 workers. */
const COMMANDS_PER_JOB = 16;
/** Workers replaced after a crash before the pool gives up and checks stay on the enclave's thread. */
const MAX_WORKER_RESTARTS = 16;
/** The environment variable an operator sets the number of workers with. */
export const SIGNATURE_WORKERS_ENV = "ANONIFY_SIGNATURE_WORKERS";

/** Starts one worker thread with `workerData`. */
export type SpawnWorker = (workerData: { role: string }) => Worker;

/** The enclave bundle itself, again, as a thread: the only code a worker may run. */
export const workerOfThisBundle: SpawnWorker = (workerData) =>
  new Worker(new URL(import.meta.url), { workerData });

/** The number of workers `value` (the environment's) asks for; a clear error for anything else. */
export function signatureWorkersFrom(value: string | undefined): number {
  if (value === undefined || value === "") return defaultSignatureWorkers();
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_SIGNATURE_WORKERS)
    throw new RangeError(`${SIGNATURE_WORKERS_ENV} must be an integer from 0 to ${MAX_SIGNATURE_WORKERS}`);
  return n;
}

/** A command no worker answered for: the apply path verifies it inline. */
export type Unchecked = undefined;

type Pending = { size: number; resolve: (outcomes: (CheckOutcome | Unchecked)[]) => void };
type Slot = { worker: Worker; pending: Map<number, Pending> };

const unchecked = (size: number): Unchecked[] => new Array<Unchecked>(size).fill(undefined);

export class SignaturePool {
  private slots: Slot[] = [];
  private nextId = 0;
  private restarts = 0;

  constructor(
    size: number,
    private readonly spawn: SpawnWorker = workerOfThisBundle,
    /** Told when a worker is lost (an operator's concern: the checks go on, inline if need be). */
    private readonly onLost: (what: string) => void = () => undefined,
  ) {
    if (!Number.isInteger(size) || size < 0 || size > MAX_SIGNATURE_WORKERS)
      throw new RangeError(`a signature pool has 0 to ${MAX_SIGNATURE_WORKERS} workers, not ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.start());
  }

  /** The workers running now (for tests: one may be terminated to play a crash). */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /**
   * Each command's outcome from the workers, in order: the bytes verified, a refusal, or
   * `undefined` where no worker answered. Never rejects.
   */
  async check(domain: LedgerDomain, commands: readonly Uint8Array[]): Promise<(CheckOutcome | Unchecked)[]> {
    if (this.slots.length === 0) return unchecked(commands.length);
    const jobs: Promise<(CheckOutcome | Unchecked)[]>[] = [];
    for (let at = 0; at < commands.length; at += COMMANDS_PER_JOB)
      jobs.push(this.send(domain, commands.slice(at, at + COMMANDS_PER_JOB)));
    return (await Promise.all(jobs)).flat();
  }

  /** Ends every worker; what they had not answered is left to the inline path. */
  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    for (const slot of slots) for (const p of slot.pending.values()) p.resolve(unchecked(p.size));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private send(domain: LedgerDomain, commands: Uint8Array[]): Promise<(CheckOutcome | Unchecked)[]> {
    if (this.slots.length === 0) return Promise.resolve(unchecked(commands.length));
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const job: CheckJob = { id: this.nextId++, domain, commands };
    return new Promise((resolve) => {
      slot.pending.set(job.id, { size: commands.length, resolve });
      slot.worker.ref(); // while it owes an answer, it keeps the process alive
      try {
        slot.worker.postMessage(job);
      } catch {
        slot.pending.delete(job.id);
        resolve(unchecked(commands.length));
      }
    });
  }

  private start(): Slot {
    const worker = this.spawn({ role: SIGNATURE_WORKER_ROLE });
    const slot: Slot = { worker, pending: new Map() };
    worker.on("message", (answer: CheckAnswer) => {
      const pending = slot.pending.get(answer?.id);
      if (!pending) return;
      slot.pending.delete(answer.id);
      const shaped = Array.isArray(answer.outcomes) && answer.outcomes.length === pending.size;
      pending.resolve(shaped ? answer.outcomes : unchecked(pending.size));
      if (slot.pending.size === 0) worker.unref();
    });
    // An uncaught error in the worker is followed by its exit, handled there.
    worker.on("error", () => undefined);
    worker.once("exit", (code) => this.lost(slot, code));
    worker.unref(); // idle, it keeps no process alive (after the listeners, which would ref it again)
    return slot;
  }

  private lost(slot: Slot, code: number): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return; // closed
    for (const p of slot.pending.values()) p.resolve(unchecked(p.size));
    slot.pending.clear();
    if (this.restarts++ < MAX_WORKER_RESTARTS) {
      this.slots[at] = this.start();
      this.onLost(`signature worker exited (code ${code}); another started`);
    } else {
      this.slots.splice(at, 1);
      this.onLost(
        `signature worker exited (code ${code}); past ${MAX_WORKER_RESTARTS} restarts, ${this.slots.length} left`,
      );
    }
  }
}
