// The app test harness's determinism check, played by careless app authors: a handler that reads the
// clock or Math.random, keeps state in its module, draws randomness from an import of its own, or
// changes the state it was given fails the harness naming the command; a handler's bug is shown with
// its own error; an honest app (the token, the lottery with its time and randomness) passes it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { erc20 } from "../../apps/erc20/index.js";
import { lottery } from "../../test/fixtures/apps/lottery/index.js";
import { defineApp } from "./app.js";
import { applyCommand } from "./executor.js";
import { object } from "./schema.js";
import { AppFailed, NondeterministicApp, testApp } from "./test-app.js";

const alice = "0x1000000000000000000000000000000000000001" as Address;
const bob = "0x2000000000000000000000000000000000000002" as Address;

let calls = 0n;
const careless = defineApp({
  name: "careless",
  initialState: (): { readonly n: bigint; readonly seen: readonly bigint[] } => ({ n: 0n, seen: [] }),
  commands: {
    fine: { params: object({}), run: (s, { timestamp }) => ({ ...s, n: timestamp }) },
    dice: { params: object({}), run: (s) => ({ ...s, n: BigInt(Math.floor(Math.random() * 6)) }) },
    counted: { params: object({}), run: (s) => ({ ...s, n: ++calls }) },
    ownRandom: { params: object({}), run: (s) => ({ ...s, n: BigInt(randomBytes(1)[0]!) }) },
    inPlace: {
      params: object({}),
      run(s) {
        (s.seen as bigint[]).push(1n);
        return s;
      },
    },
  },
  queries: { later: { params: object({}), run: () => BigInt(Date.now()) } },
});

const failsNaming = (command: string, why: RegExp) => (error: unknown) => {
  assert.ok(error instanceof NondeterministicApp, String(error));
  assert.match(error.message, new RegExp(`^app careless, ((command|query) )?${command}\\b`));
  assert.match(error.message, why);
  return true;
};

describe("testApp's determinism check", () => {
  it("fails a handler the sandbox refuses, and one whose two fresh runs differ, naming the command", () => {
    const app = testApp(careless, { timestamp: 5n });
    assert.equal(app.send(alice, "fine").status, "applied");
    assert.equal(app.state.n, 5n);
    const cases: [string, RegExp][] = [
      ["dice", /Math\.random is not available in a handler: use ctx\.random\(\)/],
      ["counted", /gave two results in two fresh runs: .*state kept in its module/],
      ["ownRandom", /gave two results in two fresh runs/],
      ["inPlace", /changed the state it was given/],
    ];
    for (const [command, why] of cases)
      assert.throws(() => app.send(alice, command), failsNaming(command, why));
    assert.throws(() => app.ask(alice, "later"), failsNaming("later", /Date\.now is not available/));
    assert.equal(app.state.n, 5n, "nothing that failed the check was applied");
    const stamped: typeof careless = {
      ...careless,
      initialState: () => ({ n: BigInt(Date.now()), seen: [] }),
    };
    assert.throws(() => testApp(stamped), failsNaming("initialState", /Date\.now is not available/));
  });

  it("shows a handler's own error (a bug) with its message and stack, where an enclave says only that it failed", () => {
    const buggy = defineApp({
      name: "buggy",
      initialState: (): { readonly list: readonly bigint[] } => ({ list: [] }),
      commands: { first: { params: object({}), run: (s) => ({ list: [s.list[0]!.valueOf()] }) } },
      queries: { first: { params: object({}), run: (s) => s.list[0]!.toString() } },
    });
    const app = testApp(buggy);
    for (const run of [() => app.send(alice, "first"), () => app.ask(alice, "first")])
      assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof AppFailed, String(error));
        assert.match(
          error.message,
          /^app buggy, (command|query) first\b.* failed: TypeError: Cannot read properties of undefined/,
        );
        assert.ok(error.cause instanceof TypeError);
        assert.match(
          String((error.cause as Error).stack),
          /test-app\.test\.ts:\d+/,
          "the stack leads to the handler",
        );
        return true;
      });
    // What an enclave answers: the executor alone keeps the error to itself.
    const receipt = applyCommand(buggy, buggy.initialState(), {
      sender: alice,
      name: "first",
      params: {},
      sequence: 0n,
      timestamp: 0n,
      seed: new Uint8Array(32),
    }).receipt;
    assert.equal(receipt.reason, "the app failed on this command");
  });

  it("passes the token's whole life", () => {
    const token = testApp(erc20);
    for (const [sender, name, params] of [
      [alice, "construct", { totalSupply: "1000" }],
      [alice, "transfer", { to: bob, amount: "300" }],
      [bob, "approve", { spender: alice, amount: "50" }],
      [alice, "transferFrom", { from: bob, to: alice, amount: "20" }],
      [bob, "burn", { amount: "10" }],
    ] as const)
      assert.equal(token.send(sender, name, params).status, "applied", name);
    assert.deepEqual(token.ask(bob, "balanceOf", {}), { status: "ok", result: 270n });
  });

  it("passes the lottery, whose handlers read the block time and their randomness", () => {
    const game = testApp(lottery, { timestamp: 1_000n });
    game.send(alice, "open", { closesAt: "1100" });
    for (const who of [alice, bob]) assert.equal(game.send(who, "enter").status, "applied");
    assert.equal(game.send(alice, "draw").reason, "entries are open");
    game.timestamp = 1_100n;
    assert.equal(game.send(bob, "enter").reason, "entries are closed");
    const drawn = game.send(bob, "draw");
    assert.ok(drawn.result === alice.toLowerCase() || drawn.result === bob.toLowerCase());
    game.send(alice, "roll");
    game.send(alice, "roll");
    const rolls = game.state.rolls;
    assert.notEqual(rolls[0]!.value, rolls[1]!.value, "each command its own randomness");
    assert.deepEqual(
      rolls.map((r) => [r.sequence, r.timestamp]),
      [
        [6n, 1_100n],
        [7n, 1_100n],
      ],
    );
    // The same commands again draw the same: a test sees the same outcome every time it runs.
    const again = testApp(lottery, { timestamp: 1_000n });
    again.send(alice, "open", { closesAt: "1100" });
    for (const who of [alice, bob]) again.send(who, "enter");
    again.send(alice, "draw");
    again.timestamp = 1_100n;
    again.send(bob, "enter");
    assert.equal(again.send(bob, "draw").result, drawn.result);
  });
});
