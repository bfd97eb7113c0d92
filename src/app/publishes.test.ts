// Commands declare that they publish (`publishes: true`), so that clients look for a public output
// after those commands only. Played by an app that publishes without saying so (a JavaScript app, or
// one that casts past the type check): the command fails naming it, its state and output dropped; in
// testApp its author sees the error itself. An embedded app's declarations carry over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { APPS } from "../../apps/index.js";
import { defineApp, publish, UndeclaredPublication, withResult } from "./app.js";
import { embed } from "./compose.js";
import { applyCommand } from "./executor.js";
import { object } from "./schema.js";
import { AppFailed, testApp } from "./test-app.js";

const alice = "0x1000000000000000000000000000000000000001" as Address;
const at = { sender: alice, params: {}, sequence: 4n, timestamp: 0n, seed: new Uint8Array(32) };

type Count = { readonly n: bigint };
const announcer = defineApp({
  name: "announcer",
  initialState: (): Count => ({ n: 0n }),
  commands: {
    announce: { params: object({}), publishes: true, run: (s) => publish({ n: s.n + 1n }, s.n + 1n) },
    // What the type check refuses, as an app that skips it would do it.
    leak: { params: object({}), run: (s) => publish({ n: s.n + 1n }, "undeclared") as never },
    quiet: { params: object({}), run: (s) => withResult({ n: s.n + 1n }, s.n + 1n) },
  },
  queries: {},
});
const REFUSED =
  "app announcer, command leak returned a public output (publish) but does not declare publishes: true";

describe("commands that publish say so", () => {
  it("fails, naming the command, one that publishes without declaring it: nothing applied or published", () => {
    const start = { n: 5n };
    const leaked = applyCommand(announcer, start, { ...at, name: "leak" });
    assert.equal(leaked.state, start);
    assert.deepEqual(leaked.receipt, { sequence: 4n, status: "failed", reason: REFUSED });
    assert.equal(leaked.publicOutput, undefined);
    // The declared one publishes; one that publishes nothing needs no declaration.
    const announced = applyCommand(announcer, start, { ...at, name: "announce" });
    assert.deepEqual([announced.receipt.status, announced.publicOutput], ["applied", 6n]);
    const quiet = applyCommand(announcer, start, { ...at, name: "quiet" });
    assert.deepEqual([quiet.receipt.status, quiet.publicOutput], ["applied", undefined]);
  });

  it("shows the app's author the refusal in testApp, as a handler's error", () => {
    const t = testApp(announcer);
    assert.throws(
      () => t.send(alice, "leak"),
      (error: unknown) => {
        assert.ok(error instanceof AppFailed, String(error));
        assert.match(
          error.message,
          /^app announcer, command leak \(sequence 0\) failed: UndeclaredPublication:/,
        );
        assert.ok(error.cause instanceof UndeclaredPublication);
        return true;
      },
    );
    assert.deepEqual(t.state, { n: 0n });
    assert.deepEqual(t.outputs, []);
    t.send(alice, "announce");
    assert.deepEqual(t.outputs, [{ sequence: 1n, output: 1n }]);
  });

  it("carries an embedded app's declarations over, and refuses its undeclared output in the outer app", () => {
    type Outer = { readonly inner: Count };
    const inner = embed(announcer, { state: (s: Outer) => s.inner, with: (_s, inner) => ({ inner }) });
    const outer = defineApp({
      name: "outer",
      embeds: [inner],
      initialState: (): Outer => ({ inner: { n: 0n } }),
      commands: {},
      queries: {},
    });
    assert.equal(outer.commands.announce.publishes, true);
    assert.equal(outer.commands.leak.publishes, undefined);
    assert.equal(outer.commands.quiet.publishes, undefined);
    const leaked = applyCommand(outer, outer.initialState(), { ...at, name: "leak" });
    assert.equal(leaked.receipt.reason, REFUSED.replace("app announcer", "app outer"));
    const t = testApp(outer);
    t.send(alice, "announce");
    assert.deepEqual(t.outputs, [{ sequence: 0n, output: 1n }]);
  });

  it("declares it on the shipped apps' commands that publish, and only on them", () => {
    const publishing = Object.entries(APPS).flatMap(([app, { commands }]) =>
      Object.entries(commands as Record<string, { publishes?: boolean }>)
        .filter(([, handler]) => handler.publishes === true)
        .map(([name]) => `${app}.${name}`),
    );
    assert.deepEqual(publishing, ["auction.close", "voting.close"]);
  });
});
