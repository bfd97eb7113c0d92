// The host's side of the ECALL boundary: starts the enclave process (or connects to one served in a
// VM, `endpoint`) and sends it typed calls. The host sees only what the enclave returns; it cannot
// reach the enclave's memory.
import { randomInt } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { CallName, CallParams, CallResult } from "../boundary/calls.js";
import {
  BOUNDARY_VERSION,
  type BoundaryResponse,
  EnclaveCallError,
  encodeFrame,
  FrameReader,
} from "../boundary/frames.js";
import type { SessionMode } from "../boundary/host-handshake.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";
import { CallWatchdog } from "./call-deadline.js";
import {
  connectEnclave,
  type EnclaveEndpoint,
  type EnclaveLink,
  endLink,
  type LauncherCommand,
  type LinkListeners,
  spawnChild,
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
  /** With `endpoint`: continue with the enclave running there (default), or have a new one started. */
  session?: SessionMode;
  /** Lines the enclave writes to stderr (it writes no secret there). */
  onLog?: (line: string) => void;
  /** Sees every frame that crosses the boundary: tests scan them for secrets. */
  tap?: BoundaryTap;
  /** How long a call may wait for its answer (src/host/call-deadline.ts); tests make it short. */
  callDeadlineMs?: (call: string) => number;
  /**
   * A launcher that runs the measured enclave inside itself (Gramine: src/host/gramine-launch.ts),
   * started instead of `node BUNDLE`; the launcher's manifest fixes the bundle and its data directory.
   */
  launcher?: LauncherCommand;
};

/** What the host's components need of an enclave: its typed calls (a process, or the supervised handle). */
export type EnclaveCalls = Pick<EnclaveProcess, "call">;

export class EnclaveExitedError extends Error {
  override name = "EnclaveExitedError";
}

/** The enclave stopped answering with calls in flight (src/host/call-deadline.ts): the link was cut. */
export class EnclaveHungError extends EnclaveExitedError {
  override name = "EnclaveHungError";
}

/**
 * Call ids start at random below this: an enclave served in a VM outlives a dropped connection, and
 * answers to the last connection's calls may still arrive on the next one; they must not match its ids.
 */
const MAX_FIRST_CALL_ID = 2 ** 48;

export class EnclaveProcess {
  private nextId = randomInt(1, MAX_FIRST_CALL_ID);
  /** In the order sent (a Map keeps it): the first is the oldest, which the watchdog times. */
  private readonly pending = new Map<
    number,
    { name: string; sentAt: number; resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private readonly watchdog: CallWatchdog;
  private exitReason: string | undefined;
  /** Why this side cut the link, when it did: said instead of the closed link's own reason. */
  private cutReason: string | undefined;
  private readonly exited: Promise<void>;
  /** Resolves with why the process exited, whoever ended it. */
  readonly whenExited: Promise<string>;

  private readonly link: EnclaveLink;

  private constructor(
    open: (listeners: LinkListeners) => EnclaveLink,
    private readonly options: EnclaveProcessOptions,
  ) {
    const reader = new FrameReader();
    this.watchdog = new CallWatchdog(
      (call, ms) => this.broken(`enclave hung: no answer to ${call} within ${ms} ms`, EnclaveHungError),
      options.callDeadlineMs,
    );
    const onData = (chunk: Buffer) => {
      this.watchdog.heard();
      for (const event of reader.push(chunk)) {
        if (event.kind === "oversized")
          return this.broken(`enclave sent an oversized frame (${event.length} bytes)`);
        options.tap?.("from-enclave", event.body);
        let response: BoundaryResponse;
        try {
          response = JSON.parse(event.body.toString("utf8")) as BoundaryResponse;
        } catch {
          // Not from an enclave of ours (over a socket, whoever is on the path): the link is cut.
          return this.broken("enclave sent a frame that is not JSON");
        }
        this.settle(response);
      }
    };
    this.link = open({ onData, ...(options.onLog ? { onLog: options.onLog } : {}) });
    this.whenExited = this.link.ended.then((ended) => {
      const reason = this.cutReason ?? ended;
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
    const { endpoint, launcher } = options;
    if (endpoint)
      return new EnclaveProcess((listeners) => connectEnclave(endpoint, listeners, options.session), options);
    if (launcher) return new EnclaveProcess((listeners) => spawnChild(launcher, listeners), options);
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
      this.pending.set(id, { name, sentAt: performance.now(), resolve, reject });
      if (this.pending.size === 1) this.watchOldest();
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
    this.watchOldest();
    if (response.ok) waiter.resolve(response.result);
    else
      waiter.reject(
        new EnclaveCallError(response.error.code, response.error.message, response.error.sealedReason),
      );
  }

  private watchOldest(): void {
    this.watchdog.watch(this.pending.values().next().value);
  }

  /**
   * The enclave sent what no enclave of ours sends, or stopped answering: every call in flight fails,
   * and the link is cut (its end is then an exit, which the supervisor recovers from).
   */
  private broken(reason: string, kind = EnclaveExitedError): void {
    this.cutReason ??= reason;
    this.failAll(new kind(this.cutReason));
    this.link.kill();
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.watchOldest();
  }

  /** Ends its input (the enclave exits, or its session ends, on end of input), then cuts it if it lingers. */
  async stop(): Promise<void> {
    if (this.exitReason) return;
    await endLink(this.link);
    await this.exited;
  }
}
