// The app model (in the style of Microsoft CCF's JavaScript apps): an app is data plus handlers that
// the runtime executes. Each command maps (state, context, params) to a new state; each query maps
// (state, context, params) to a result. Handlers are pure and deterministic: every enclave applies
// every command in the same order and must reach the same state, so a handler may read nothing but
// its arguments and must not mutate the state it is given. Its context gives what it may not take
// from the machine: the time (the ordering batch's block time) and randomness (the command's own,
// the same in every enclave); the clock, `Math.random`, timers and I/O throw while it runs
// (src/app/sandbox.ts).
//
//   export default defineApp({
//     name: "counter",
//     initialState: (): { count: bigint } => ({ count: 0n }),
//     commands: {
//       add: { params: object({ by: uint() }), run: (state, _ctx, { by }) => ({ count: state.count + by }) },
//     },
//     queries: { count: { params: object({}), run: (state) => state.count } },
//   });
import type { Address } from "viem";
import { encodeValue, type StateValue } from "./canonical.js";
import type { AnyEmbedded, WithEmbeddedCommands, WithEmbeddedQueries } from "./compose.js";
import { runSandboxed, sandboxInstalled } from "./sandbox.js";
import type { ObjectSchema } from "./schema.js";

/** An app's, a command's or a query's name: users sign it, so it is plain and bounded. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** What a command's handler sees beside the state and its params: the same in every enclave. */
export type CommandContext = {
  /** Who sent the command: a lower-case address, from the verified signature. */
  readonly sender: Address;
  /** The command's place in the ledger's one order (0, 1, 2, … across all batches). */
  readonly sequence: bigint;
  /**
   * The block time (seconds since 1970, UTC) of the batch that ordered the command, as the contract
   * recorded it: never before the previous batch's. Commands of one batch share it.
   */
  readonly timestamp: bigint;
  /**
   * The next `length` bytes (default 32, at most `MAX_RANDOM_BYTES`) of the command's own random
   * stream: derived from a secret only the group's enclaves hold and the command's place in the
   * order, so every enclave sees the same bytes and no user or host can know them before the command
   * is ordered. Each call returns new bytes.
   */
  random(length?: number): Uint8Array;
};
/**
 * What a query's handler sees: who asks (a lower-case address, from the verified signature: the app
 * decides what each caller may read) and the block time of the chain position the answer reflects (the
 * last event the answering enclave applied). No randomness: an answer is one enclave's, and may be asked again.
 */
export type QueryContext = { readonly sender: Address; readonly timestamp: bigint };

/** The most bytes one `ctx.random` call returns. */
export const MAX_RANDOM_BYTES = 1024;

/**
 * A rule of the app refuses the command or query (e.g. "insufficient balance"). The command then
 * changes nothing and its receipt is failed with `reason`, which only the sender can read.
 */
export class AppRejection extends Error {
  override name = "AppRejection";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * A command's new state together with a result for its receipt (`withResult`, read by the sender
 * only) and a public output (`publish`, carried on chain for anyone: an auction's winner and price).
 */
export class CommandOutput<S> {
  constructor(
    readonly state: S,
    readonly result?: StateValue,
    readonly publicOutput?: StateValue,
  ) {}
}

/**
 * The most bytes of one command's public output (its canonical encoding, src/app/canonical.ts): every
 * output of a batch goes on chain in one record (src/protocol/public-outputs.ts), which must fit the
 * largest padding bucket even when every command of a full batch publishes.
 */
export const MAX_PUBLIC_OUTPUT_BYTES = 1000;

/**
 * A command returned a public output (`publish`) without declaring `publishes: true`: a bug of the
 * app (clients would never look for the output), so the executor fails the command. Its receipt
 * names it in the runtime's words (they hold nothing of the state); testApp throws it whole.
 */
export class UndeclaredPublication extends Error {
  override name = "UndeclaredPublication";
  constructor(label: string) {
    super(`${label} returned a public output (publish) but does not declare publishes: true`);
  }
}

/** What `withResult` returns: it publishes nothing, so any command's handler may return it. */
export type ResultOutput<S> = CommandOutput<S> & { readonly publicOutput?: undefined };
/** What `publish` returns: only a handler that declares `publishes: true` may return it. */
export type PublishedOutput<S> = CommandOutput<S> & { readonly publicOutput: StateValue };

/** Returns `state` as the new state and puts `result` in the command's receipt. */
export function withResult<S>(state: S, result: StateValue): ResultOutput<S> {
  return new CommandOutput(state, result) as ResultOutput<S>;
}

/**
 * Returns `state` as the new state and publishes `output`: the batch that ordered the command carries
 * it on chain for anyone to read (and nothing else of the command). `result`, if given, goes to the
 * receipt as with `withResult`. An output over MAX_PUBLIC_OUTPUT_BYTES encoded fails the command, and
 * so does one from a command that does not declare `publishes: true`.
 */
export function publish<S>(state: S, output: StateValue, result?: StateValue): PublishedOutput<S> {
  return new CommandOutput(state, result, output) as PublishedOutput<S>;
}

// Handlers are declared with method syntax on purpose: methods are compared bivariantly, so an app
// over a specific state type is still an `App` that the generic executor accepts.
/**
 * A command that publishes (`publish`): it says so, so that clients look for its public output on
 * chain after it, and only after it (the web wallet, the SDK's `publishes`).
 */
export type PublishingCommandHandler<S, P> = {
  readonly params: ObjectSchema<P>;
  readonly publishes: true;
  run(state: S, context: CommandContext, params: P): S | CommandOutput<S>;
};
/** A command that publishes nothing: `publish(…)` from it is a type error (and fails it at run time). */
export type PrivateCommandHandler<S, P> = {
  readonly params: ObjectSchema<P>;
  readonly publishes?: false;
  run(state: S, context: CommandContext, params: P): S | ResultOutput<S>;
};
export type CommandHandler<S, P> = PublishingCommandHandler<S, P> | PrivateCommandHandler<S, P>;

export type QueryHandler<S, P> = {
  readonly params: ObjectSchema<P>;
  /**
   * Its answer is for anyone (an auction's result, a ballot's tally): the app's rule answers every
   * sender alike. A declaration for the node and the tools to read; the rule itself decides.
   */
  readonly public?: boolean;
  run(state: S, context: QueryContext, params: P): StateValue;
};

/** `C` and `Q` map each command and query name to its params type; they are inferred from the schemas. */
export type AppDefinition<S, C, Q> = {
  readonly name: string;
  /**
   * The version of the state's shape (default 1): part of the app's identity, so an enclave whose
   * app reads another shape is admitted only as an upgrade a signed policy names.
   */
  readonly stateVersion?: number;
  initialState(): S;
  /**
   * The state of this app's version `fromVersion` (an earlier `stateVersion`) in this version's
   * shape: run once, at the chain position where a signed policy upgrades the network to this
   * version (docs/operations.md §6), by every enclave of this version alike, so it is pure and
   * deterministic like a handler (sandboxed too). It may throw for a version it cannot read.
   */
  migrate?(state: StateValue, fromVersion: number): S;
  readonly commands: { readonly [K in keyof C]: CommandHandler<S, C[K]> };
  readonly queries: { readonly [K in keyof Q]: QueryHandler<S, Q[K]> };
};

export type App<
  S extends StateValue = StateValue,
  C = Record<string, unknown>,
  Q = Record<string, unknown>,
> = AppDefinition<S, C, Q>;

/** The names of app `A`'s commands (any string for the untyped `App`). */
export type CommandName<A extends App> = keyof A["commands"] & string;
/** The names of app `A`'s queries. */
export type QueryName<A extends App> = keyof A["queries"] & string;

/** What a schema of params parses to; any record where the app is not known (the untyped `App`). */
type ParamsOf<H> = H extends { readonly params: ObjectSchema<infer P> }
  ? unknown extends P
    ? Record<string, unknown>
    : P extends Readonly<Record<string, unknown>>
      ? keyof P extends never
        ? Record<string, never> // `{}` would take any value; a command without params takes none
        : P
      : never
  : never;
/** The params of app `A`'s command `K`, as its schema parses them. */
export type CommandParams<A extends App, K extends CommandName<A>> = ParamsOf<A["commands"][K]>;
/** The params of app `A`'s query `K`. */
export type QueryParams<A extends App, K extends QueryName<A>> = ParamsOf<A["queries"][K]>;

/**
 * Checks an app's names and returns it frozen. The params type of each handler flows from its
 * schema, so `run(state, ctx, params)` sees `params` typed without annotations. The commands and
 * queries of the apps it `embeds` (./compose.ts) become its own; a name two of them define is refused.
 */
export function defineApp<
  S extends StateValue,
  C extends Record<string, unknown>,
  Q extends Record<string, unknown>,
  const E extends readonly AnyEmbedded<S>[] = [],
>(
  definition: AppDefinition<S, C, Q> & { readonly embeds?: E },
): App<S, WithEmbeddedCommands<C, E>, WithEmbeddedQueries<Q, E>> {
  checkName(definition.name, "app name");
  checkStateVersion(definition);
  const { embeds = [], ...own } = definition;
  const commands = withEmbedded(own.name, "command", own.commands, embeds, (e) => e.commands);
  const queries = withEmbedded(own.name, "query", own.queries, embeds, (e) => e.queries);
  for (const [kind, handlers] of [
    ["command", commands],
    ["query", queries],
  ] as const) {
    for (const [name, handler] of Object.entries(handlers as Record<string, { params: { kind: string } }>)) {
      checkName(name, `${kind} name`);
      if (handler.params.kind !== "object")
        throw new TypeError(`${kind} ${name}: params must be an object schema`);
    }
  }
  // A state read from the clock would differ between enclaves: where the sandbox is installed (an
  // enclave installs it before its app loads; testApp too), it refuses that by name. A page that only
  // reads an app's schemas is left as it is.
  const initial = sandboxInstalled()
    ? runSandboxed(`app ${definition.name}, initialState`, () => definition.initialState())
    : definition.initialState();
  try {
    encodeValue(initial); // a state that cannot be encoded could never be sealed
  } catch (error) {
    throw new TypeError(
      `app ${definition.name}: initial state is not a state value: ${(error as Error).message}`,
    );
  }
  const app = { ...own, commands: Object.freeze(commands), queries: Object.freeze(queries) };
  // The handlers merged at run time are those the return type names: the app's own (`C`, `Q`) and
  // each embedded app's, with no name twice (refused above).
  return Object.freeze(app) as App<S, WithEmbeddedCommands<C, E>, WithEmbeddedQueries<Q, E>>;
}

/** An app's own handlers of one kind with those of the apps it embeds; a name defined twice is refused. */
function withEmbedded<S>(
  app: string,
  kind: "command" | "query",
  handlers: object,
  embeds: readonly AnyEmbedded<S>[],
  of: (embedded: AnyEmbedded<S>) => object,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...handlers };
  const from = new Map(Object.keys(handlers).map((name) => [name, `app ${app}`]));
  for (const embedded of embeds)
    for (const [name, handler] of Object.entries(of(embedded))) {
      const first = from.get(name);
      if (first !== undefined)
        throw new TypeError(
          `app ${app}: ${kind} ${JSON.stringify(name)} is defined by ${first} and by embedded app ${embedded.app}`,
        );
      from.set(name, `embedded app ${embedded.app}`);
      merged[name] = handler;
    }
  return merged;
}

/** The highest state version: it is a u32 in the app's identity (`appIdOf`). */
export const MAX_STATE_VERSION = 0xffff_ffff;

/** A state version is a whole number from 1; a `migrate` reads an earlier one, so version 1 has none. */
function checkStateVersion(definition: { name: string; stateVersion?: number; migrate?: unknown }): void {
  const version = definition.stateVersion ?? 1;
  if (!Number.isInteger(version) || version < 1 || version > MAX_STATE_VERSION)
    throw new TypeError(`app ${definition.name}: stateVersion must be a whole number from 1`);
  if (definition.migrate !== undefined && typeof definition.migrate !== "function")
    throw new TypeError(`app ${definition.name}: migrate must be a function`);
  if (definition.migrate !== undefined && version === 1)
    throw new TypeError(`app ${definition.name}: state version 1 has nothing to migrate from`);
}

/**
 * The state `app` migrates `state` of version `fromVersion` to, checked: run in the sandbox, and a
 * state value (one that cannot be encoded could never be sealed). Throws `MigrationError` by name.
 */
export function migrateState(app: App<StateValue>, state: StateValue, fromVersion: number): StateValue {
  const version = app.stateVersion ?? 1;
  if (!app.migrate) throw new MigrationError(`app ${app.name} v${version} declares no migrate`);
  if (!Number.isInteger(fromVersion) || fromVersion < 1 || fromVersion >= version)
    throw new MigrationError(
      `app ${app.name} v${version} does not migrate from state version ${fromVersion}`,
    );
  const definition = app as App<StateValue> & Required<Pick<App<StateValue>, "migrate">>;
  let migrated: StateValue;
  try {
    migrated = runSandboxed(`app ${app.name}, migrate from ${fromVersion}`, () =>
      definition.migrate(state, fromVersion),
    );
    encodeValue(migrated);
  } catch (error) {
    throw new MigrationError(
      `app ${app.name} v${version} failed to migrate state version ${fromVersion}: ${(error as Error).message}`,
    );
  }
  return migrated;
}

/** A migration that cannot run: no `migrate`, a version it does not read, or it threw. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(`${what} ${JSON.stringify(name)} must match ${NAME_PATTERN} (it is signed by users)`);
  }
}
