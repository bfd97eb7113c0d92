// How long the host waits for its enclave to answer before it takes the enclave for hung: a VM that
// froze, an enclave process stopped (SIGSTOP), a path that swallows bytes while the TCP connection
// stays up (keepalive probes are answered by the kernel, so keepalive alone never notices). The
// enclave runs its calls one at a time, in order, so the clock is the oldest call's: it starts when
// that call was sent or when the enclave last answered anything, whichever is later. A hung enclave's
// calls fail with EnclaveHungError and the link is cut, which the supervisor treats as an exit.
//
// The deadlines are generous, for the slowest call of each kind on a loaded machine: a call that seals
// the whole checkpoint (a join, a handshake, a restore of 100,000 accounts: 11–25 s on 2 shared cores,
// src/enclave/checkpoint-pieces.ts) gets SEALING_CALL_DEADLINE_MS; every other call, CALL_DEADLINE_MS.

/** Any call that does not seal or open a whole checkpoint (a command, a query, a batch, a status). */
export const CALL_DEADLINE_MS = 60_000;
/** Calls that may seal, open or install a whole checkpoint or snapshot. */
export const SEALING_CALL_DEADLINE_MS = 300_000;
const SEALING_CALLS: ReadonlySet<string> = new Set([
  "restoreState",
  "applyEvents",
  "proposeHandshake",
  "keyPackage",
  "installSnapshot",
]);

/** The most a call of `name` may take before the enclave is taken for hung. */
export const callDeadlineMs = (name: string): number =>
  SEALING_CALLS.has(name) ? SEALING_CALL_DEADLINE_MS : CALL_DEADLINE_MS;

type Waiting = { name: string; sentAt: number };

/**
 * Watches the calls in flight: `hung` once the oldest has waited its deadline with nothing heard
 * from the enclave meanwhile. `deadlineFor` replaces callDeadlineMs (tests make it short).
 */
export class CallWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private lastHeard = 0;

  constructor(
    private readonly hung: (call: string, deadlineMs: number) => void,
    private readonly deadlineFor: (name: string) => number = callDeadlineMs,
  ) {}

  /** Something arrived from the enclave: it is alive. */
  heard(): void {
    this.lastHeard = performance.now();
  }

  /** Re-arms for the oldest call still waiting (none: disarmed). */
  watch(oldest: Waiting | undefined): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!oldest) return;
    const deadline = this.deadlineFor(oldest.name);
    const since = Math.max(oldest.sentAt, this.lastHeard);
    const left = Math.max(0, since + deadline - performance.now());
    this.timer = setTimeout(() => this.hung(oldest.name, deadline), left);
  }
}
