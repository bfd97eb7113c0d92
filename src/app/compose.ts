// Composition: an app builds on another's state and rules without copying its code. The embedded
// app's state lives inside the outer state (a lens says where); its commands and queries become the
// outer app's under their own names and params, and the outer app's handlers call its rules as
// functions — an auction escrows a bid through the token's own `transfer`, refused as the token
// refuses it.
//
//   const token = embed(erc20, { state: (s: AuctionState) => s.token, with: (s, token) => ({ ...s, token }) });
//   export default defineApp({
//     name: "auction",
//     embeds: [token],                      // construct, transfer, balanceOf, … of the token
//     initialState: (): AuctionState => ({ token: erc20.initialState(), … }),
//     commands: {
//       bid: { params, run: (s, ctx, { amount }) => token.rules.transfer(s, ctx, { to: ESCROW, amount }) },
//     },
//     …
//   });
//
// `defineApp` refuses, by name, a command or query the outer app and an embedded one both define.
import {
  type App,
  type CommandContext,
  type CommandHandler,
  CommandOutput,
  type QueryContext,
  type QueryHandler,
} from "./app.js";
import type { StateValue } from "./canonical.js";
import { ParamError } from "./schema.js";

const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/;

/** Where the embedded app's state lives in the outer state: read it, and put a new one there. */
export type Lens<Outer, Inner> = {
  state(outer: Outer): Inner;
  with(outer: Outer, inner: Inner): Outer;
};

/** An app embedded in an outer app whose state is `Outer`: give it to `defineApp({ embeds: [it] })`. */
export type Embedded<Outer, Inner, C, Q> = {
  /** The embedded app's name (refusals name it). */
  readonly app: string;
  /** Its commands, on the outer state: the outer app offers them under their own names. */
  readonly commands: { readonly [K in keyof C]: CommandHandler<Outer, C[K]> };
  /** Its queries, on the outer state. */
  readonly queries: { readonly [K in keyof Q]: QueryHandler<Outer, Q[K]> };
  /**
   * Its command rules as functions on the outer state, for the outer app's handlers: `ctx.sender` is
   * who acts (pass `{ ...ctx, sender }` to act as an account the app holds); a rule refuses with an
   * `AppRejection` as the embedded app does, and a result it gives is dropped.
   */
  readonly rules: { readonly [K in keyof C]: (state: Outer, ctx: CommandContext, params: C[K]) => Outer };
  /** Its queries as functions on the outer state (a command's context serves as a query's). */
  readonly reads: { readonly [K in keyof Q]: (state: Outer, ctx: QueryContext, params: Q[K]) => StateValue };
  /** The embedded app's state within `outer`. */
  state(outer: Outer): Inner;
};

/** Any embedding of an outer state `S`, as `defineApp` takes them. */
// biome-ignore lint/suspicious/noExplicitAny: any embedded state and handlers; each keeps its own types
export type AnyEmbedded<S> = Embedded<S, any, any, any>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type CommandsOf<E> = E extends Embedded<infer _S, infer _I, infer C, infer _Q> ? C : never;
type QueriesOf<E> = E extends Embedded<infer _S, infer _I, infer _C, infer Q> ? Q : never;
type Merge<E extends readonly unknown[], Of extends "commands" | "queries"> = E extends readonly [
  infer Head,
  ...infer Tail,
]
  ? (Of extends "commands" ? CommandsOf<Head> : QueriesOf<Head>) & Merge<Tail, Of>
  : unknown;
/** The params by command name of an app with its own commands `C` and the embedded apps `E`. */
export type WithEmbeddedCommands<C, E extends readonly unknown[]> = E extends readonly []
  ? C
  : Simplify<C & Merge<E, "commands">>;
/** The params by query name of an app with its own queries `Q` and the embedded apps `E`. */
export type WithEmbeddedQueries<Q, E extends readonly unknown[]> = E extends readonly []
  ? Q
  : Simplify<Q & Merge<E, "queries">>;

/**
 * A rule's params come from the outer app's code, not a user: they are parsed as the embedded app
 * parses its own (an address lower-cased, a bound checked), and a value that does not fit is a bug
 * of the outer app, not the user's invalid params.
 */
function parsedFor<P>(
  app: string,
  name: string,
  handler: { params: { parse(v: unknown): P } },
  params: P,
): P {
  try {
    return handler.params.parse(params);
  } catch (error) {
    if (error instanceof ParamError)
      throw new TypeError(`embedded app ${app}, rule ${name} was given invalid params: ${error.message}`);
    throw error;
  }
}

/** Embeds `app` in an outer app whose state holds the app's state where `lens` says. */
export function embed<Outer, Inner extends StateValue, C, Q>(
  app: App<Inner, C, Q>,
  lens: Lens<Outer, Inner>,
): Embedded<Outer, Inner, C, Q> {
  // The flag carries over: the lifted command publishes what the embedded one does, no more (a
  // public output from one that does not declare it still fails it at run time).
  const liftCommand = <P>(handler: CommandHandler<Inner, P>): CommandHandler<Outer, P> =>
    ({
      params: handler.params,
      ...(handler.publishes === true ? { publishes: true } : {}),
      run(outer: Outer, ctx: CommandContext, params: P) {
        const output = handler.run(lens.state(outer), ctx, params);
        return output instanceof CommandOutput
          ? new CommandOutput(lens.with(outer, output.state), output.result, output.publicOutput)
          : lens.with(outer, output);
      },
    }) as CommandHandler<Outer, P>;
  const liftQuery = <P>(handler: QueryHandler<Inner, P>): QueryHandler<Outer, P> => ({
    params: handler.params,
    ...(handler.public === undefined ? {} : { public: handler.public }),
    run: (outer, ctx, params) => handler.run(lens.state(outer), ctx, params),
  });
  const each = <H, R>(handlers: Readonly<Record<string, H>>, lift: (name: string, handler: H) => R) =>
    Object.freeze(Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, lift(name, h)])));
  const commands = app.commands as Readonly<Record<string, CommandHandler<Inner, unknown>>>;
  const queries = app.queries as Readonly<Record<string, QueryHandler<Inner, unknown>>>;
  return Object.freeze({
    app: app.name,
    commands: each(commands, (_, h) => liftCommand(h)),
    queries: each(queries, (_, h) => liftQuery(h)),
    rules: each(commands, (name, h) => (outer: Outer, ctx: CommandContext, params: unknown) => {
      // The embedded app keys accounts by lower-case address, as senders from signatures are.
      if (!LOWER_ADDRESS.test(ctx.sender))
        throw new TypeError(
          `embedded app ${app.name}, rule ${name}: the sender must be a lower-case address`,
        );
      const output = h.run(lens.state(outer), ctx, parsedFor(app.name, name, h, params));
      return lens.with(outer, output instanceof CommandOutput ? output.state : output);
    }),
    reads: each(
      queries,
      (name, h) => (outer: Outer, ctx: QueryContext, params: unknown) =>
        h.run(
          lens.state(outer),
          { sender: ctx.sender, timestamp: ctx.timestamp },
          parsedFor(app.name, name, h, params),
        ),
    ),
    state: (outer: Outer) => lens.state(outer),
  }) as Embedded<Outer, Inner, C, Q>;
}
