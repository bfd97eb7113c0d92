// Type tests (checked by `tsc --noEmit`, never run) of composition: an app that embeds another offers
// the embedded app's commands and queries under their own names and params beside its own, and its
// handlers call the embedded rules with their params typed.
import type { Address } from "viem";
import type auction from "../../apps/auction/index.js";
import erc20, { type Erc20State } from "../../apps/erc20/index.js";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import { type CommandName, type CommandParams, defineApp, type QueryName, type QueryParams } from "./app.js";
import type { StateValue } from "./canonical.js";
import { embed } from "./compose.js";
import { object, uint } from "./schema.js";

type Auction = typeof auction;
type _Commands = Expect<
  Equal<
    CommandName<Auction>,
    "open" | "bid" | "close" | "construct" | "transfer" | "approve" | "transferFrom" | "mint" | "burn"
  >
>;
type _Queries = Expect<
  Equal<
    QueryName<Auction>,
    "auction" | "myBid" | "result" | "balanceOf" | "allowance" | "totalSupply" | "owner"
  >
>;
// The token's params, as the token itself takes them.
type _Transfer = Expect<Equal<CommandParams<Auction, "transfer">, CommandParams<typeof erc20, "transfer">>>;
type _TransferFields = Expect<
  Equal<CommandParams<Auction, "transfer">, { readonly to: Address; readonly amount: bigint }>
>;
type _Allowance = Expect<Equal<QueryParams<Auction, "allowance">, QueryParams<typeof erc20, "allowance">>>;
type _Bid = Expect<Equal<CommandParams<Auction, "bid">, { readonly id: string; readonly amount: bigint }>>;

type Vault = { readonly token: Erc20State; readonly locked: bigint };
const token = embed(erc20, {
  state: (s: Vault) => s.token,
  with: (s, t) => ({ ...s, token: t }),
});
const VAULT = "0x000000000000000000000000000000000000beef";

const vault = defineApp({
  name: "vault",
  embeds: [token],
  initialState: (): Vault => ({ token: erc20.initialState(), locked: 0n }),
  commands: {
    lock: {
      params: object({ amount: uint() }),
      run(state, ctx, { amount }) {
        expectType<Vault>(token.rules.transfer(state, ctx, { to: VAULT, amount }));
        // @ts-expect-error: the token's transfer takes `to` and `amount`, not `recipient`
        token.rules.transfer(state, ctx, { recipient: VAULT, amount });
        // @ts-expect-error: an amount is a bigint once parsed
        token.rules.transfer(state, ctx, { to: VAULT, amount: 1 });
        // @ts-expect-error: the token has no rule `steal`
        token.rules.steal(state, ctx, {});
        expectType<StateValue>(token.reads.balanceOf(state, ctx, {}));
        return { ...token.rules.transfer(state, ctx, { to: VAULT, amount }), locked: state.locked + amount };
      },
    },
  },
  queries: { locked: { params: object({}), run: (state) => state.locked } },
});
type _VaultCommands = Expect<Equal<CommandName<typeof vault>, "lock" | CommandName<typeof erc20>>>;
type _VaultLock = Expect<Equal<CommandParams<typeof vault, "lock">, { readonly amount: bigint }>>;
type _VaultQueries = Expect<Equal<QueryName<typeof vault>, "locked" | QueryName<typeof erc20>>>;

// An app that embeds nothing keeps exactly its own names.
const plain = defineApp({
  name: "plain",
  initialState: (): { readonly n: bigint } => ({ n: 0n }),
  commands: { add: { params: object({ by: uint() }), run: (s, _ctx, { by }) => ({ n: s.n + by }) } },
  queries: {},
});
type _Plain = Expect<Equal<CommandName<typeof plain>, "add">>;

// An embedding over another state does not fit this app.
defineApp({
  name: "mismatched",
  // @ts-expect-error: `token` reads a Vault, and this app's state is no Vault
  embeds: [token],
  initialState: (): { readonly other: bigint } => ({ other: 0n }),
  commands: {},
  queries: {},
});
