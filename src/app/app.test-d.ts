// Type tests (checked by `tsc --noEmit`, never run) of what a handler sees: a command gets the block
// time and its random stream, a query the time of its answer and no randomness, and neither gets a
// block number (the host reports it, the chain's hash chain does not bind it).
import type { Address } from "viem";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import { type CommandContext, defineApp, publish, type QueryContext, withResult } from "./app.js";
import { object } from "./schema.js";

type _Command = Expect<
  Equal<
    CommandContext,
    {
      readonly sender: Address;
      readonly sequence: bigint;
      readonly timestamp: bigint;
      random(length?: number): Uint8Array;
    }
  >
>;
type _Query = Expect<Equal<QueryContext, { readonly sender: Address; readonly timestamp: bigint }>>;

defineApp({
  name: "typed",
  initialState: (): { readonly at: bigint; readonly draw: number } => ({ at: 0n, draw: 0 }),
  commands: {
    stamp: {
      params: object({}),
      run(_state, ctx) {
        expectType<bigint>(ctx.timestamp);
        expectType<Uint8Array>(ctx.random(8));
        // @ts-expect-error: the block number is not the chain's to vouch for: handlers never see it
        ctx.block;
        return { at: ctx.timestamp, draw: ctx.random()[0]! };
      },
    },
  },
  queries: {
    at: {
      params: object({}),
      run(state, ctx) {
        expectType<bigint>(ctx.timestamp);
        // @ts-expect-error: an answer is one enclave's, asked again at will: no randomness
        ctx.random();
        return state.at;
      },
    },
  },
});

// A command publishes only if it says so: `publish` from a command without `publishes: true` does not
// type (the executor fails it too, src/app/publishes.test.ts); `withResult` needs no declaration.
defineApp({
  name: "declared",
  initialState: (): { readonly n: bigint } => ({ n: 0n }),
  commands: {
    announce: { params: object({}), publishes: true, run: (s) => publish(s, s.n) },
    either: { params: object({}), publishes: true, run: (s) => (s.n > 0n ? publish(s, s.n) : s) },
    quiet: { params: object({}), run: (s) => withResult(s, s.n) },
  },
  queries: {},
});
defineApp({
  name: "undeclared",
  initialState: (): { readonly n: bigint } => ({ n: 0n }),
  commands: {
    // @ts-expect-error: it publishes without declaring `publishes: true`
    leak: { params: object({}), run: (s) => publish(s, s.n) },
    // @ts-expect-error: `publishes: false` says it does not
    falsely: { params: object({}), publishes: false, run: (s) => publish(s, s.n) },
  },
  queries: {},
});
