// The host's side of the ECALL boundary: starts the enclave process and sends it typed calls.
// The host sees only what the enclave returns; it cannot reach the enclave's memory.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import type { CallName, CallParams, CallResult } from "../boundary/calls.js";
import {
  BOUNDARY_VERSION,
  type BoundaryResponse,
  EnclaveCallError,
  encodeFrame,
  FrameReader,
} from "../boundary/frames.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";

export type BoundaryTap = (direction: "to-enclave" | "from-enclave", frame: Buffer) => void;

export type EnclaveProcessOptions = {
  dataDir: string;
  bundle?: string;
  /** Lines the enclave writes to stderr (it writes no secret there). */
  onLog?: (line: string) => void;
  /** Sees every frame that crosses the boundary: tests scan them for secrets. */
  tap?: BoundaryTap;
};

/** What the host's components need of an enclave: its typed calls (a process, or the supervised handle). */
export type EnclaveCalls = Pick<EnclaveProcess, "call">;

export class EnclaveExitedError extends Error {
  override name = "EnclaveExitedError";
}

export class EnclaveProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exitReason: string | undefined;
  private readonly exited: Promise<void>;
  /** Resolves with why the process exited, whoever ended it. */
  readonly whenExited: Promise<string>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: EnclaveProcessOptions,
  ) {
    const reader = new FrameReader();
    child.stdout?.on("data", (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (event.kind === "oversized") {
          this.failAll(new EnclaveExitedError(`enclave sent an oversized frame (${event.length} bytes)`));
          child.kill("SIGKILL");
          return;
        }
        options.tap?.("from-enclave", event.body);
        this.settle(JSON.parse(event.body.toString("utf8")) as BoundaryResponse);
      }
    });
    // Writing to a process that has just died fails with EPIPE on its stdin; the exit handler below
    // fails the calls in flight, so the write error itself is not thrown (as an uncaught exception).
    child.stdin?.on("error", () => undefined);
    let partial = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line) options.onLog?.(line);
    });
    this.whenExited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitReason = `enclave process exited (code ${code}, signal ${signal})`;
        this.failAll(new EnclaveExitedError(this.exitReason));
        resolve(this.exitReason);
      });
    });
    this.exited = this.whenExited.then(() => undefined);
  }

  static start(options: EnclaveProcessOptions): EnclaveProcess {
    mkdirSync(options.dataDir, { recursive: true });
    const child = spawn(
      process.execPath,
      [options.bundle ?? DEFAULT_ENCLAVE_BUNDLE, "--data-dir", options.dataDir],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    return new EnclaveProcess(child, options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** One call of the enclave's table, typed from it (src/boundary/calls.ts). */
  call<K extends CallName>(
    name: K,
    ...[params]: Record<string, never> extends CallParams<K>
      ? [params?: CallParams<K>]
      : [params: CallParams<K>]
  ): Promise<CallResult<K>> {
    // The enclave answers a call with its result type or refuses it; the table is the contract.
    return this.callUnchecked(name, params ?? {}) as Promise<CallResult<K>>;
  }

  /** Any name and arguments, as they are: for tests of the enclave's input checks. */
  callUnchecked(name: string, args: unknown): Promise<unknown> {
    if (this.exitReason) return Promise.reject(new EnclaveExitedError(this.exitReason));
    const id = this.nextId++;
    const frame = encodeFrame({ v: BOUNDARY_VERSION, id, call: name, args });
    this.options.tap?.("to-enclave", frame.subarray(4));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(frame);
    });
  }

  /** Sends raw bytes as they are: for tests of the enclave's input checks. */
  writeRaw(bytes: Buffer): void {
    this.child.stdin?.write(bytes);
  }

  private settle(response: BoundaryResponse): void {
    const waiter = this.pending.get(response.id);
    if (!waiter) {
      // A refusal the enclave could not attribute to a call (id -1): a frame it could not read.
      if (response.id === -1 && !response.ok)
        this.options.onLog?.(`enclave refused a frame: ${response.error.message}`);
      return;
    }
    this.pending.delete(response.id);
    if (response.ok) waiter.resolve(response.result);
    else
      waiter.reject(
        new EnclaveCallError(response.error.code, response.error.message, response.error.sealedReason),
      );
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Closes stdin (the enclave exits on end of input), then kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.exitReason) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
