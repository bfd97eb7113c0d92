// For tests of apps (nothing in an enclave bundle imports it): an app driven through the executor as
// an enclave drives it — JSON params, one sequence, a block time the test sets, a seed per command —
// with the determinism check: every command and query runs twice, each time on a fresh copy of the
// state decoded from its canonical bytes (as an enclave after a restart or a joiner holds it), and
// any difference of state, receipt, public output or answer fails naming the command. So does a handler that
// changed the state it was given, or that the sandbox refused (it read the clock or `Math.random`).
// A handler's own error (a bug) is thrown with its message and stack, where an enclave says only
// "the app failed on this command".
// What the sandbox cannot see — state kept in the app's module, randomness from an import of its own
// — shows as a difference between the two runs.
import { sha256 } from "@noble/hashes/sha2.js";
import type { Address } from "viem";
import type { App } from "./app.js";
import { encodeValue, type StateValue } from "./canonical.js";
import {
  applyCommand,
  type CommandApplied,
  type CommandInput,
  type CommandOutcome,
  decodeAppState,
  encodeAppState,
  type QueryInput,
  type QueryOutcome,
  runQuery,
} from "./executor.js";
import { runSandboxed, SandboxViolation } from "./sandbox.js";

/** The two runs of a command or query differed, or a handler did what no enclave may. */
export class NondeterministicApp extends Error {
  override name = "NondeterministicApp";
}

/**
 * A handler threw an error of its own (a bug, not an `AppRejection`): an enclave's receipt says only
 * "the app failed on this command", a test is shown the error itself, as its `cause` with its stack.
 */
export class AppFailed extends Error {
  override name = "AppFailed";
}

/** Executor options that keep the app's own error, and a check that throws it as `AppFailed`. */
function watchingErrors(what: string) {
  let caught: { error: unknown } | undefined;
  return {
    options: {
      onAppError(error: unknown) {
        caught ??= { error }; // the first: a failure after it comes of it
      },
    },
    check(): void {
      if (caught === undefined) return;
      const { error } = caught;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new AppFailed(`${what} failed: ${message}`, { cause: error });
    },
  };
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);
const fresh = <S extends StateValue>(bytes: Uint8Array): S => decodeAppState<S>(bytes);
/** What the two runs must agree on beside the state: the receipt and the public output. */
const outcomeBytes = ({ receipt, publicOutput }: CommandApplied<StateValue>): Uint8Array =>
  encodeValue({
    status: receipt.status,
    reason: receipt.reason ?? null,
    result: receipt.result ?? null,
    publicOutput: publicOutput === undefined ? null : [publicOutput],
  });

/**
 * Applies `command` twice, each on a fresh copy of `state`, and returns the first run's outcome;
 * throws `NondeterministicApp` naming the command if the runs differ, if the handler changed the
 * state it was given, or if the sandbox refused it, and `AppFailed` if the handler threw its own error.
 */
export function applyTwice<S extends StateValue>(
  app: App<S>,
  state: S,
  command: CommandInput,
): CommandApplied<S> {
  const what = `app ${app.name}, command ${command.name} (sequence ${command.sequence})`;
  const before = encodeAppState(state);
  const runs = [0, 1].map(() => {
    const given = fresh<S>(before);
    const errors = watchingErrors(what);
    const applied = applyCommand(app, given, command, errors.options);
    errors.check();
    if (!equalBytes(encodeAppState(given), before))
      throw new NondeterministicApp(`${what} changed the state it was given: return a new state instead`);
    return { applied, state: encodeAppState(applied.state), receipt: outcomeBytes(applied) };
  });
  const [first, second] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const refused = first.applied.receipt.reason;
  if (refused?.startsWith(`app ${app.name}, command ${command.name}: `))
    throw new NondeterministicApp(refused);
  if (!equalBytes(first.state, second.state) || !equalBytes(first.receipt, second.receipt))
    throw new NondeterministicApp(
      `${what} gave two results in two fresh runs: it read something besides its arguments (state kept in its module, randomness or time from elsewhere)`,
    );
  return first.applied;
}

/** Answers `query` twice on fresh copies of `state`; throws `NondeterministicApp` if the answers differ. */
export function askTwice<S extends StateValue>(app: App<S>, state: S, query: QueryInput): QueryOutcome {
  const bytes = encodeAppState(state);
  const [first, second] = [0, 1].map(() => {
    const errors = watchingErrors(`app ${app.name}, query ${query.name}`);
    const outcome = runQuery(app, fresh<S>(bytes), query, errors.options);
    errors.check();
    return outcome;
  }) as [QueryOutcome, QueryOutcome];
  const encoded = (o: QueryOutcome) => encodeValue(o.status === "ok" ? o.result : `rejected: ${o.reason}`);
  if (first.status === "rejected" && first.reason.startsWith(`app ${app.name}, query ${query.name}: `))
    throw new NondeterministicApp(first.reason);
  if (!equalBytes(encoded(first), encoded(second)))
    throw new NondeterministicApp(`app ${app.name}, query ${query.name} gave two answers in two fresh runs`);
  return first;
}

/** The app's initial state, made twice in the sandbox: it must not read the clock or differ. */
function initialStateTwice<S extends StateValue>(app: App<S>): S {
  const label = `app ${app.name}, initialState`;
  const [first, second] = [0, 1].map(() => {
    try {
      return runSandboxed(label, () => app.initialState());
    } catch (error) {
      if (error instanceof SandboxViolation) throw new NondeterministicApp(error.message);
      throw error;
    }
  }) as [S, S];
  if (!equalBytes(encodeAppState(first), encodeAppState(second)))
    throw new NondeterministicApp(`${label} gave two states in two runs`);
  return first;
}

const SEED_LABEL = new TextEncoder().encode("anonify.test-app.seed.v1");
const U64_BYTES = 8;

/** A test's seed for the command at `sequence`: fixed, so a test sees the same draws each time. */
export function testSeed(sequence: bigint): Uint8Array {
  const input = new Uint8Array(SEED_LABEL.length + U64_BYTES);
  input.set(SEED_LABEL);
  new DataView(input.buffer).setBigUint64(SEED_LABEL.length, sequence);
  return sha256(input);
}

/** An app under test: its state, the next sequence, and the block time the next commands are ordered at. */
export type AppUnderTest<S extends StateValue> = {
  state: S;
  sequence: bigint;
  /** The block time (seconds) of the next commands; set it to move time. */
  timestamp: bigint;
  /**
   * What each command published (`publish`), in order: what the batch carries on chain for anyone.
   * A command that published nothing has no entry.
   */
  readonly outputs: { sequence: bigint; output: StateValue }[];
  /** Applies a command as the next in order (checked for determinism) and returns its receipt. */
  send(sender: Address, name: string, params?: Record<string, unknown>): CommandOutcome;
  /** Answers a query at the current state and time (checked for determinism). */
  ask(sender: Address, name: string, params?: Record<string, unknown>): QueryOutcome;
};

/** Drives `app` from its initial state (or `state`), at block time `timestamp`, with `seed` per command. */
export function testApp<S extends StateValue>(
  app: App<S>,
  options: { state?: S; timestamp?: bigint; seed?: (sequence: bigint) => Uint8Array } = {},
): AppUnderTest<S> {
  const seed = options.seed ?? testSeed;
  const harness: AppUnderTest<S> = {
    state: options.state ?? initialStateTwice(app),
    sequence: 0n,
    timestamp: options.timestamp ?? 0n,
    outputs: [],
    send(sender, name, params = {}) {
      const sequence = harness.sequence++;
      const input = {
        sender,
        name,
        params,
        sequence,
        timestamp: harness.timestamp,
        seed: () => seed(sequence),
      };
      const { state, receipt, publicOutput } = applyTwice(app, harness.state, input);
      harness.state = state;
      if (publicOutput !== undefined) harness.outputs.push({ sequence, output: publicOutput });
      return receipt;
    },
    ask: (sender, name, params = {}) =>
      askTwice(app, harness.state, { sender, name, params, timestamp: harness.timestamp }),
  };
  return harness;
}
