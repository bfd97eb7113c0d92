// Where handlers run: every enclave must compute the same state from the same ordered commands, so
// while a handler runs, whatever would let it read something else — the clock, randomness other than
// its command's own, the machine's time zone or locale, timers, I/O, the process — throws a
// `SandboxViolation` naming the handler and the call ("app lottery, command draw: Math.random is not
// available in a handler: use ctx.random()"). The executor fails the command with that message even
// if the handler caught it. Handlers are synchronous (a promise they return is refused), so "while it
// runs" is the span of one call.
//
// The functions and constructors are wrapped once (./sandbox-guards.ts) by wrappers that check one
// variable, set here around the call: a reference an app or a library kept is guarded too, and a
// command pays for two assignments. The `process` object (whose `env` and `stdout` are properties,
// not calls) is swapped for a refusing stand-in during the call and put back in `finally`. Measured
// (Node 20, 2 cores under load, best of 7): ~0.4 µs per command, against 1–1.8 ms for a fresh `vm`
// context per command; swapping every global instead cost ~3 µs (each global write ~0.2–0.8 µs).
// This guards against mistakes, not against an app written to escape: the app is measured code its
// operators chose, and the state digests catch any divergence it causes. The enclave's own code
// never runs inside a handler's span (`outsideSandbox` steps out for the seed derivation).
import { installGuards } from "./sandbox-guards.js";

const IO = "a handler reads only its arguments and returns its result";

/** A handler reached for something that could differ between enclaves; `message` says what and where. */
export class SandboxViolation extends Error {
  override name = "SandboxViolation";
  constructor(
    readonly handler: string,
    readonly call: string,
    hint: string,
  ) {
    super(`${handler}: ${call} is not available in a handler: ${hint}`);
  }
}

/** The handler running now (`app NAME, command NAME`), if any. */
let running: string | undefined;
/** The first violation of the handler running now, kept even if the handler caught it. */
let violation: SandboxViolation | undefined;

/** Throws the violation of `call` by the handler running now, keeping the first one. */
function refuse(call: string, hint: string): never {
  const error = new SandboxViolation(running ?? "a handler", call, hint);
  violation ??= error;
  throw error;
}

const PROCESS_STAND_IN = new Proxy(Object.create(null) as object, {
  get: (_target, key) => refuse(`process.${String(key)}`, IO),
  has: () => true,
});
const global = globalThis as unknown as Record<string, unknown>;
/** The real `process` while a handler runs (its `env`, `stdout`, … are properties, not calls: swapped). */
let savedProcess: unknown;
const swapsProcess = "process" in globalThis;

let installed = false;
/** Whether the guards are in place (`installSandbox` ran). */
export const sandboxInstalled = (): boolean => installed;

/**
 * Wraps the guarded functions (once; later calls do nothing). `runSandboxed` installs it on first
 * use; the enclave installs it before its app's module is evaluated, so that a reference an app or
 * its libraries take when loaded is the guarded one.
 */
export function installSandbox(): void {
  if (installed) return;
  installed = true;
  installGuards(() => running !== undefined, refuse);
}

/**
 * Runs `handler` sandboxed as `label` (`app NAME, command NAME`): a forbidden call throws a
 * `SandboxViolation`, and one the handler caught is thrown when it returns. Re-entrant: a handler may
 * run another app's handler (composition), which is labelled as itself.
 */
export function runSandboxed<T>(label: string, handler: () => T): T {
  installSandbox();
  const outer = running;
  const outerViolation = violation;
  running = label;
  violation = undefined;
  if (outer === undefined && swapsProcess) {
    savedProcess = global.process;
    global.process = PROCESS_STAND_IN;
  }
  try {
    const result = handler();
    if (violation) throw violation;
    return result;
  } catch (error) {
    throw violation ?? error; // what the handler did after catching a violation does not count
  } finally {
    if (outer === undefined && swapsProcess) {
      global.process = savedProcess;
      savedProcess = undefined;
    }
    running = outer;
    violation = outerViolation ?? violation;
  }
}

/**
 * Runs the runtime's own `work` from inside a handler's span (the enclave's seed derivation when the
 * handler first draws randomness) with nothing guarded, then guards again.
 */
export function outsideSandbox<T>(work: () => T): T {
  const label = running;
  if (label === undefined) return work();
  const kept = violation;
  running = undefined;
  if (swapsProcess) global.process = savedProcess;
  try {
    return work();
  } finally {
    if (swapsProcess) global.process = PROCESS_STAND_IN;
    running = label;
    violation = kept;
  }
}

/** Whether a handler runs now (the enclave's own code must never run while one does). */
export const inHandler = (): boolean => running !== undefined;
