// Composition: an embedded app's commands and queries become the outer app's under their own names,
// acting on its part of the outer state; its rules, called by the outer app's handlers, refuse as it
// refuses; a name that two of them define is refused when the app is defined, naming both.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { type Erc20State, erc20 } from "../../apps/erc20/index.js";
import { AppRejection, defineApp, withResult } from "./app.js";
import { embed } from "./compose.js";
import { object, uint } from "./schema.js";
import { AppFailed, testApp } from "./test-app.js";

const alice = "0x1000000000000000000000000000000000000001" as Address;
const bob = "0x2000000000000000000000000000000000000002" as Address;
const VAULT = "0x000000000000000000000000000000000000beef" as Address;

type Vault = { readonly token: Erc20State; readonly locked: bigint };
const token = embed(erc20, { state: (s: Vault) => s.token, with: (s, t) => ({ ...s, token: t }) });
const initialState = (): Vault => ({ token: erc20.initialState(), locked: 0n });

const vault = defineApp({
  name: "vault",
  embeds: [token],
  initialState,
  commands: {
    lock: {
      params: object({ amount: uint() }),
      run: (s, ctx, { amount }) => ({
        ...token.rules.transfer(s, ctx, { to: VAULT, amount }),
        locked: s.locked + amount,
      }),
    },
    unlock: {
      params: object({ amount: uint() }),
      run(s, ctx, { amount }) {
        if (amount > s.locked) throw new AppRejection("not that much locked");
        // The vault's account acts: the rule's sender is who pays.
        const paid = token.rules.transfer(s, { ...ctx, sender: VAULT }, { to: ctx.sender, amount });
        return withResult({ ...paid, locked: s.locked - amount }, token.reads.balanceOf(paid, ctx, {}));
      },
    },
    mixedCase: {
      params: object({}),
      // A checksummed address reaches the token as the lower-case account it keys.
      run: (s, ctx) =>
        token.rules.transfer(s, ctx, { to: "0x000000000000000000000000000000000000BEEF", amount: 1n }),
    },
    asNobody: {
      params: object({}),
      run: (s, ctx) =>
        token.rules.transfer(s, { ...ctx, sender: "0xABC" as Address }, { to: VAULT, amount: 1n }),
    },
  },
  queries: { locked: { params: object({}), public: true, run: (s) => s.locked } },
});

describe("embed", () => {
  it("offers the embedded app's commands and queries on its part of the state", () => {
    const app = testApp(vault);
    assert.equal(app.send(alice, "construct", { totalSupply: "100" }).status, "applied");
    assert.equal(app.send(alice, "transfer", { to: bob, amount: "30" }).status, "applied");
    assert.deepEqual(app.ask(bob, "balanceOf"), { status: "ok", result: 30n });
    assert.deepEqual(app.ask(bob, "owner"), { status: "ok", result: alice });
    assert.equal(
      app.send(bob, "transfer", { to: alice, amount: "31" }).reason,
      "transfer amount exceeds balance",
    );
    assert.equal(app.state.locked, 0n);
  });

  it("lets the outer handlers call the embedded rules, refused as the embedded app refuses", () => {
    const app = testApp(vault);
    app.send(alice, "construct", { totalSupply: "100" });
    assert.equal(app.send(alice, "lock", { amount: "60" }).status, "applied");
    assert.equal(app.state.token.balances.get(VAULT), 60n);
    assert.equal(app.state.locked, 60n);
    const refused = app.send(alice, "lock", { amount: "41" });
    assert.deepEqual([refused.status, refused.reason], ["failed", "transfer amount exceeds balance"]);
    assert.equal(app.state.locked, 60n, "a refused rule changes nothing");
    const unlocked = app.send(alice, "unlock", { amount: "25" });
    assert.deepEqual([unlocked.status, unlocked.result], ["applied", 65n]);
    assert.equal(app.state.token.balances.get(VAULT), 35n);
    assert.equal(app.send(alice, "mixedCase").status, "applied");
    assert.equal(app.state.token.balances.get(VAULT), 36n);
    assert.throws(
      () => app.send(alice, "asNobody"),
      (e: unknown) => {
        assert.ok(e instanceof AppFailed);
        assert.match(e.message, /rule transfer: the sender must be a lower-case address/);
        return true;
      },
    );
  });

  it("keeps an embedded command's result and a query's public mark", () => {
    const inner = defineApp({
      name: "ticker",
      initialState: (): { readonly n: bigint } => ({ n: 0n }),
      commands: { tick: { params: object({}), run: (s) => withResult({ n: s.n + 1n }, s.n + 1n) } },
      queries: { n: { params: object({}), public: true, run: (s) => s.n } },
    });
    type Outer = { readonly ticker: { readonly n: bigint } };
    const ticker = embed(inner, { state: (s: Outer) => s.ticker, with: (_s, t) => ({ ticker: t }) });
    const outer = defineApp({
      name: "outer",
      embeds: [ticker],
      initialState: (): Outer => ({ ticker: { n: 0n } }),
      commands: {},
      queries: {},
    });
    const app = testApp(outer);
    assert.equal(app.send(alice, "tick").result, 1n);
    assert.equal(app.send(alice, "tick").result, 2n);
    assert.deepEqual(app.state, { ticker: { n: 2n } });
    assert.equal(outer.queries.n.public, true);
  });

  it("refuses, when the app is defined, a name both it and an embedded app define", () => {
    const base = { initialState, queries: {}, commands: {} };
    const own = { params: object({}), run: (s: Vault) => s };
    assert.throws(
      () => defineApp({ ...base, name: "clash", embeds: [token], commands: { transfer: own } }),
      /^TypeError: app clash: command "transfer" is defined by app clash and by embedded app erc20$/,
    );
    assert.throws(
      () => defineApp({ ...base, name: "clash", embeds: [token], queries: { owner: own } }),
      /query "owner" is defined by app clash and by embedded app erc20/,
    );
    assert.throws(
      () => defineApp({ ...base, name: "twice", embeds: [token, token] }),
      /command "construct" is defined by embedded app erc20 and by embedded app erc20/,
    );
  });
});
