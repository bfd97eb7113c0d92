// The node's enclave as one long-lived handle over a succession of enclave processes: when one exits
// unexpectedly the supervisor says so once, and the node (node-host.ts) starts the next and restores
// it from what the host kept sealed. Meanwhile every call is refused with `enclave_restarting`, which
// the API answers as 503, instead of failing each caller with the dead process's error.
import { EnclaveCallError } from "../boundary/frames.js";
import type { SessionMode } from "../boundary/host-handshake.js";
import { type EnclaveCalls, EnclaveProcess, type EnclaveProcessOptions } from "./enclave-process.js";

/** The enclave process's state as the node's clients and operators see it. */
export type EnclaveState = "up" | "restarting" | "stopped";

/** What a call made while the process is being replaced is refused with (the API answers 503). */
export const ENCLAVE_RESTARTING = "enclave_restarting";
const MS_PER_SECOND = 1000;

export type SupervisedEnclaveOptions = EnclaveProcessOptions & {
  /** Called once for each process that exits without being asked to (a crash or a kill). */
  onUnexpectedExit: (reason: string) => void;
};

/** One call name's totals since the node started: for the operator's metrics. */
export type CallTotals = { calls: number; seconds: number; failures: number };

export class SupervisedEnclave {
  private process: EnclaveProcess;
  private current: EnclaveState = "up";
  private readonly totals = new Map<string, CallTotals>();
  private crashes = 0;
  /** The process being replaced on purpose (restart or stop): its exit is no crash. */
  private readonly retired = new WeakSet<EnclaveProcess>();

  constructor(private readonly options: SupervisedEnclaveOptions) {
    this.process = this.spawn();
  }

  private spawn(session?: SessionMode): EnclaveProcess {
    const process = EnclaveProcess.start(session ? { ...this.options, session } : this.options);
    void process.whenExited.then((reason) => {
      if (this.retired.has(process)) return;
      this.crashes += 1;
      this.current = "restarting";
      this.options.onUnexpectedExit(reason);
    });
    return process;
  }

  get state(): EnclaveState {
    return this.current;
  }

  /** The current enclave process's id (benchmarks read its CPU time; fault tests kill it). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** One call of the enclave's table, typed from it: the process's own, through `callUnchecked` below. */
  readonly call: EnclaveProcess["call"] = EnclaveProcess.prototype.call;

  /** Any name and arguments, as they are (tests of the enclave's input checks go through here too). */
  callUnchecked(name: string, args: unknown): Promise<unknown> {
    if (this.current !== "up") return Promise.reject(this.unavailable());
    const started = performance.now();
    const counted = (failed: boolean) => {
      const t = this.totals.get(name) ?? { calls: 0, seconds: 0, failures: 0 };
      this.totals.set(name, {
        calls: t.calls + 1,
        seconds: t.seconds + (performance.now() - started) / MS_PER_SECOND,
        failures: t.failures + (failed ? 1 : 0),
      });
    };
    return this.process.callUnchecked(name, args).then(
      (answer) => {
        counted(false);
        return answer;
      },
      (error: unknown) => {
        counted(true);
        throw error;
      },
    );
  }

  /** Each call name's totals (a refusal counts as a failure), and the processes that exited unasked. */
  callTotals(): { calls: ReadonlyMap<string, CallTotals>; crashes: number } {
    return { calls: new Map(this.totals), crashes: this.crashes };
  }

  /**
   * The process being brought up, while calls through this handle are still refused: the node's
   * restore sequence (init, restoreState) runs before anything else may reach it.
   */
  get restarting(): EnclaveCalls {
    return this.process;
  }

  private unavailable(): EnclaveCallError {
    return this.current === "stopped"
      ? new EnclaveCallError("enclave_stopped", "the node's enclave has stopped")
      : new EnclaveCallError(ENCLAVE_RESTARTING, "the node's enclave is restarting; retry shortly");
  }

  /**
   * Replaces the process with a new one that takes no call but `callWhileRestarting` until `up()`:
   * after a crash, or on purpose (rolling the state back to a checkpoint needs a fresh process, since
   * an enclave takes a restore once). An enclave served in a VM that outlived its connection is
   * connected to again and continues (`session` "resume"), unless "fresh" asks for a new process.
   */
  async replace(session: SessionMode = "resume"): Promise<void> {
    this.current = "restarting";
    const old = this.process;
    this.retired.add(old);
    await old.stop();
    this.process = this.spawn(session);
  }

  /** The new process is restored: calls go through again. */
  up(): void {
    if (this.current === "restarting") this.current = "up";
  }

  async stop(): Promise<void> {
    this.current = "stopped";
    this.retired.add(this.process);
    await this.process.stop();
  }
}
