// The app model (in the style of Microsoft CCF's JavaScript apps): an app is data plus handlers that
// the runtime executes. Each command maps (state, context, params) to a new state; each query maps
// (state, context, params) to a result. Handlers are pure and deterministic: every enclave applies
// every command in the same order and must reach the same state, so a handler may read nothing but
// its arguments (no clock, no randomness, no I/O) and must not mutate the state it is given.
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
import type { ObjectSchema } from "./schema.js";

/** An app's, a command's or a query's name: users sign it, so it is plain and bounded. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Who sent the command (lower-case address, from the verified signature) and its place in the ledger's order. */
export type CommandContext = { readonly sender: Address; readonly sequence: bigint };
/** Who asks (lower-case address, from the verified signature): the app decides what each caller may read. */
export type QueryContext = { readonly sender: Address };

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

/** A command's new state together with a result for its receipt; made by `withResult`. */
export class CommandOutput<S> {
  constructor(
    readonly state: S,
    readonly result: StateValue,
  ) {}
}

/** Returns `state` as the new state and puts `result` in the command's receipt. */
export function withResult<S>(state: S, result: StateValue): CommandOutput<S> {
  return new CommandOutput(state, result);
}

// Handlers are declared with method syntax on purpose: methods are compared bivariantly, so an app
// over a specific state type is still an `App` that the generic executor accepts.
export type CommandHandler<S, P> = {
  readonly params: ObjectSchema<P>;
  run(state: S, context: CommandContext, params: P): S | CommandOutput<S>;
};

export type QueryHandler<S, P> = {
  readonly params: ObjectSchema<P>;
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
 * schema, so `run(state, ctx, params)` sees `params` typed without annotations.
 */
export function defineApp<
  S extends StateValue,
  C extends Record<string, unknown>,
  Q extends Record<string, unknown>,
>(definition: AppDefinition<S, C, Q>): App<S, C, Q> {
  checkName(definition.name, "app name");
  for (const [kind, handlers] of [
    ["command", definition.commands],
    ["query", definition.queries],
  ] as const) {
    for (const [name, handler] of Object.entries(handlers as Record<string, { params: { kind: string } }>)) {
      checkName(name, `${kind} name`);
      if (handler.params.kind !== "object")
        throw new TypeError(`${kind} ${name}: params must be an object schema`);
    }
  }
  try {
    encodeValue(definition.initialState()); // a state that cannot be encoded could never be sealed
  } catch (error) {
    throw new TypeError(
      `app ${definition.name}: initial state is not a state value: ${(error as Error).message}`,
    );
  }
  return Object.freeze({
    ...definition,
    commands: Object.freeze({ ...definition.commands }),
    queries: Object.freeze({ ...definition.queries }),
  });
}

function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(`${what} ${JSON.stringify(name)} must match ${NAME_PATTERN} (it is signed by users)`);
  }
}
