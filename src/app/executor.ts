// The deterministic executor: applies one verified command to an app's state, or answers a query.
// Same app, same state, same command → same new state and same receipt, on every enclave. A command
// that fails for any reason (unknown name, bad params, a rule of the app, a bug in the app) leaves
// the state unchanged and gets a failed receipt; it never stops the batch.
//
// Signatures, nonces and batches are checked before this point (src/enclave/signed-messages.ts, confidential-ledger.ts, batch.ts);
// the executor trusts `sender`, `sequence`, `timestamp` and `seed` and checks everything that comes
// from the user. Handlers run sandboxed (./sandbox.ts): a call that could differ between enclaves
// fails the command, and its receipt names the handler and the call.
import { sha256 } from "@noble/hashes/sha2.js";
import { type Address, bytesToHex, type Hex } from "viem";
import {
  type App,
  AppRejection,
  CommandOutput,
  MAX_PUBLIC_OUTPUT_BYTES,
  UndeclaredPublication,
} from "./app.js";
import { decodeValue, encodeValue, type StateValue } from "./canonical.js";
import { type RandomSeed, randomStream } from "./random-stream.js";
import { outsideSandbox, runSandboxed, SandboxViolation } from "./sandbox.js";
import { ParamError } from "./schema.js";

/** App rejection reasons longer than this are cut: a receipt stays small whatever the app says. */
export const MAX_REASON_LENGTH = 256;
const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/;

export type CommandInput = {
  /** The verified signer; lower case (`checkSender` lower-cases and checks it). */
  readonly sender: Address;
  readonly name: string;
  /** The params as parsed JSON; the app's schema checks them. */
  readonly params: unknown;
  /** The command's place in the ledger's total order. */
  readonly sequence: bigint;
  /** The block time (seconds) of the batch that ordered it (`ctx.timestamp`). */
  readonly timestamp: bigint;
  /** The command's 32 random bytes, the same in every enclave (`ctx.random` draws from them). */
  readonly seed: RandomSeed;
};

export type ReceiptStatus = "applied" | "failed";

/** What one command did, in ledger order: `reason` only when failed, `result` only if the app gave one. */
export type CommandOutcome = {
  sequence: bigint;
  status: ReceiptStatus;
  reason?: string;
  result?: StateValue;
};

export type QueryOutcome = { status: "ok"; result: StateValue } | { status: "rejected"; reason: string };

/** `publicOutput`: what the command published (`publish`), for the batch to carry on chain. */
export type CommandApplied<S> = {
  readonly state: S;
  readonly receipt: CommandOutcome;
  readonly publicOutput?: StateValue;
};

export type QueryInput = {
  readonly sender: Address;
  readonly name: string;
  readonly params: unknown;
  /** The block time of the chain position the answer reflects (`ctx.timestamp`). */
  readonly timestamp: bigint;
};

export type CommandCheck = { ok: true } | { ok: false; reason: string };

function checkSender(sender: string): Address {
  const lower = sender.toLowerCase();
  // Not a receipt: the sender comes from a verified signature, so a bad one is a bug of the caller.
  if (!LOWER_ADDRESS.test(lower)) throw new TypeError("sender must be a 20-byte hex address");
  return lower as Address;
}

function truncate(reason: string): string {
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
}

/** A promise (an `async` handler): its rest would run after the handler returned, outside the sandbox. */
const isThenable = (value: unknown): boolean =>
  typeof (value as { then?: unknown } | null)?.then === "function";

function lookup<H>(handlers: Readonly<Record<string, H>>, name: string): H | undefined {
  // Own properties only: "constructor" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(handlers, name) ? handlers[name] : undefined;
}

/**
 * For tools outside an enclave (testApp): `onAppError` sees the app's own error behind a failed
 * receipt or answer that says only "the app failed on this command". An enclave passes none.
 */
export type ExecutorOptions = { readonly onAppError?: (error: unknown) => void };

/** An error of the app's code, not one of its refusals or the runtime's. */
const isAppError = (error: unknown): boolean =>
  !(error instanceof AppRejection || error instanceof ParamError || error instanceof SandboxViolation);

/** Why an error leaves the state unchanged, as the receipt says it. */
function failureReason(error: unknown): string {
  if (error instanceof AppRejection) return truncate(error.reason);
  if (error instanceof ParamError) return truncate(`invalid params: ${error.message}`);
  // The runtime's own words (the handler and the call it made), the same on every enclave.
  if (error instanceof SandboxViolation || error instanceof UndeclaredPublication)
    return truncate(error.message);
  // An app bug: the same on every enclave (same code, same input), but its message may reveal
  // internals, so the receipt says only that it happened.
  return "the app failed on this command";
}

/**
 * Checks a command's name and params against the app without running it, so an enclave can refuse a
 * bad command before it is ordered. `applyCommand` checks again; this is only an early answer.
 */
export function checkCommand<S extends StateValue>(app: App<S>, name: string, params: unknown): CommandCheck {
  const handler = lookup(app.commands, name);
  if (handler === undefined) return { ok: false, reason: `unknown command ${JSON.stringify(name)}` };
  try {
    handler.params.parse(params);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: failureReason(error) };
  }
}

/** Applies one command. Never throws for anything the user controls. */
export function applyCommand<S extends StateValue>(
  app: App<S>,
  state: S,
  command: CommandInput,
  options: ExecutorOptions = {},
): CommandApplied<S> {
  const sender = checkSender(command.sender);
  const { sequence, timestamp } = command;
  const failed = (reason: string): CommandApplied<S> => ({
    state,
    receipt: { sequence, status: "failed", reason },
  });
  const handler = lookup(app.commands, command.name);
  if (handler === undefined) return failed(`unknown command ${JSON.stringify(command.name)}`);
  try {
    const params = handler.params.parse(command.params);
    const { seed } = command;
    // The enclave derives the seed when the handler first draws: its own code, run unguarded.
    const random = randomStream(typeof seed === "function" ? () => outsideSandbox(seed) : seed);
    const context = Object.freeze({ sender, sequence, timestamp, random });
    const label = `app ${app.name}, command ${command.name}`;
    const output = runSandboxed(label, () => handler.run(state, context, params));
    if (isThenable(output))
      throw new SandboxViolation(label, "a promise as a result", "handlers are synchronous");
    if (output instanceof CommandOutput) {
      const { result, publicOutput } = output;
      if (result !== undefined) encodeValue(result); // a result that cannot be sealed into a receipt is an app bug
      if (publicOutput !== undefined) {
        if (handler.publishes !== true) throw new UndeclaredPublication(label);
        checkPublicOutput(publicOutput);
      }
      return {
        state: output.state,
        receipt: { sequence, status: "applied", ...(result === undefined ? {} : { result }) },
        ...(publicOutput === undefined ? {} : { publicOutput }),
      };
    }
    if (output === undefined) throw new TypeError("command returned no state");
    return { state: output, receipt: { sequence, status: "applied" } };
  } catch (error) {
    if (isAppError(error)) options.onAppError?.(error);
    return failed(failureReason(error));
  }
}

/** A public output that encodes within MAX_PUBLIC_OUTPUT_BYTES; else the command fails (an app bug). */
function checkPublicOutput(output: StateValue): void {
  const size = encodeValue(output).length;
  if (size > MAX_PUBLIC_OUTPUT_BYTES)
    throw new TypeError(`public output is ${size} bytes encoded, over ${MAX_PUBLIC_OUTPUT_BYTES}`);
}

/** Answers one query; a rejection (unknown query, bad params, the app's refusal) is an outcome, not a throw. */
export function runQuery<S extends StateValue>(
  app: App<S>,
  state: S,
  query: QueryInput,
  options: ExecutorOptions = {},
): QueryOutcome {
  const sender = checkSender(query.sender);
  const handler = lookup(app.queries, query.name);
  if (handler === undefined)
    return { status: "rejected", reason: `unknown query ${JSON.stringify(query.name)}` };
  try {
    const params = handler.params.parse(query.params);
    const context = Object.freeze({ sender, timestamp: query.timestamp });
    const label = `app ${app.name}, query ${query.name}`;
    const result = runSandboxed(label, () => handler.run(state, context, params));
    if (isThenable(result))
      throw new SandboxViolation(label, "a promise as a result", "handlers are synchronous");
    encodeValue(result); // the answer must be sealable
    return { status: "ok", result };
  } catch (error) {
    if (isAppError(error)) options.onAppError?.(error);
    return { status: "rejected", reason: failureReason(error) };
  }
}

/** Canonical bytes of an app state (for sealing, snapshots and comparison). */
export function encodeAppState(state: StateValue): Uint8Array {
  return encodeValue(state);
}

/**
 * Decodes `encodeAppState` output. The shape is not checked against the app: state bytes only ever
 * come from an enclave's own sealed storage or a snapshot whose hash is committed on chain.
 */
export function decodeAppState<S extends StateValue>(bytes: Uint8Array): S {
  return decodeValue(bytes) as S;
}

/** sha256 of the canonical encoding: equal digests mean equal states, across nodes and restarts. */
export function stateDigest(state: StateValue): Hex {
  return bytesToHex(sha256(encodeAppState(state)));
}
