// Type tests (checked by `tsc --noEmit`, never run) of what a handler sees: a command gets the block
// time and its random stream, a query the time of its answer and no randomness, and neither gets a
// block number (the host reports it, the chain's hash chain does not bind it).
import type { Address } from "viem";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import { type CommandContext, defineApp, type QueryContext } from "./app.js";
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
