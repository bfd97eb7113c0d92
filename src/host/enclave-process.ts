// The host's side of the ECALL boundary: starts the enclave process (or connects to one served in a
// VM, `endpoint`) and sends it typed calls. The host sees only what the enclave returns; it cannot
// reach the enclave's memory.
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
import {
  connectEnclave,
  type EnclaveEndpoint,
  type EnclaveLink,
  endLink,
  type LinkListeners,
  spawnEnclave,
} from "./enclave-link.js";
import { loopbackEnclave, overTcp } from "./enclave-loopback.js";

export type BoundaryTap = (direction: "to-enclave" | "from-enclave", frame: Buffer) => void;

export type EnclaveProcessOptions = {
  dataDir: string;
  bundle?: string;
  /**
   * An enclave already running elsewhere (`anonify enclave serve` in a VM): connected to, not
   * started; `dataDir` and `bundle` are then the VM's business.
   */
  endpoint?: EnclaveEndpoint;
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

  private readonly link: EnclaveLink;

  private constructor(
    open: (listeners: LinkListeners) => EnclaveLink,
    private readonly options: EnclaveProcessOptions,
  ) {
    const reader = new FrameReader();
    const onData = (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (event.kind === "oversized") return this.broken(`an oversized frame (${event.length} bytes)`);
        options.tap?.("from-enclave", event.body);
        let response: BoundaryResponse;
        try {
          response = JSON.parse(event.body.toString("utf8")) as BoundaryResponse;
        } catch {
          // Not from an enclave of ours (over a socket, whoever is on the path): the link is cut.
          return this.broken("a frame that is not JSON");
        }
        this.settle(response);
      }
    };
    this.link = open({ onData, ...(options.onLog ? { onLog: options.onLog } : {}) });
    this.whenExited = this.link.ended.then((reason) => {
      this.exitReason = reason;
      this.failAll(new EnclaveExitedError(reason));
      return reason;
    });
    this.exited = this.whenExited.then(() => undefined);
  }

  /**
   * The enclave: a new child process, or the one `options.endpoint` serves. With
   * ANONIFY_ENCLAVE_OVER_TCP=1, a child behind a loopback socket (src/host/enclave-loopback.ts).
   */
  static start(options: EnclaveProcessOptions): EnclaveProcess {
    const { endpoint } = options;
    if (endpoint) return new EnclaveProcess((listeners) => connectEnclave(endpoint, listeners), options);
    mkdirSync(options.dataDir, { recursive: true });
    const bundle = options.bundle ?? DEFAULT_ENCLAVE_BUNDLE;
    const open = overTcp() ? loopbackEnclave : spawnEnclave;
    return new EnclaveProcess((listeners) => open(bundle, options.dataDir, listeners), options);
  }

  /** The enclave's process, when it is a child of this one (not one served in a VM). */
  get pid(): number | undefined {
    return this.link.pid;
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
      this.link.write(frame);
    });
  }

  /** Sends raw bytes as they are: for tests of the enclave's input checks. */
  writeRaw(bytes: Buffer): void {
    this.link.write(bytes);
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

  /** The enclave sent what no enclave of ours sends: every call in flight fails, and the link is cut. */
  private broken(what: string): void {
    this.failAll(new EnclaveExitedError(`enclave sent ${what}`));
    this.link.kill();
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Ends its input (the enclave exits, or its session ends, on end of input), then cuts it if it lingers. */
  async stop(): Promise<void> {
    if (this.exitReason) return;
    await endLink(this.link);
    await this.exited;
  }
}
