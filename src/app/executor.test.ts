import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { AppRejection, defineApp, withResult } from "./app.js";
import {
  applyCommand,
  checkCommand,
  decodeAppState,
  encodeAppState,
  MAX_REASON_LENGTH,
  runQuery,
  stateDigest,
} from "./executor.js";
import { installSandbox } from "./sandbox.js";
import { object, string, uint } from "./schema.js";

const alice = "0xAbCdEf0000000000000000000000000000000001" as Address;
const aliceLower = alice.toLowerCase();
/** When and with which randomness a test's command runs: no test here reads them. */
const AT = { timestamp: 0n, seed: new Uint8Array(32) };

type Notes = { readonly notes: ReadonlyMap<Address, readonly string[]>; readonly count: bigint };

const notesApp = defineApp({
  name: "notes",
  initialState: (): Notes => ({ notes: new Map(), count: 0n }),
  commands: {
    add: {
      params: object({ text: string({ maxLength: 16 }) }),
      run(state, { sender, sequence }, { text }) {
        const notes = new Map(state.notes);
        notes.set(sender, [...(state.notes.get(sender) ?? []), `${sequence}:${text}`]);
        return withResult({ notes, count: state.count + 1n }, state.count + 1n);
      },
    },
    refuse: {
      params: object({ why: string({ maxLength: 1000 }) }),
      run: (_s, _c, { why }) => {
        throw new AppRejection(why);
      },
    },
    crash: {
      params: object({}),
      run() {
        throw new TypeError("secret internals");
      },
    },
    nothing: { params: object({}), run: () => undefined as unknown as Notes },
    badResult: { params: object({}), run: (s) => withResult(s, new Set() as never) },
  },
  queries: {
    mine: { params: object({}), run: (state, { sender }) => state.notes.get(sender) ?? [] },
    count: { params: object({ plus: uint() }), run: (state, _ctx, { plus }) => state.count + plus },
    secret: {
      params: object({}),
      run: () => {
        throw new AppRejection("not allowed to read");
      },
    },
  },
});

describe("applyCommand", () => {
  const start = notesApp.initialState();

  it("applies, passes sender (lower case) and sequence, and carries a result", () => {
    const { state, receipt } = applyCommand(notesApp, start, {
      sender: alice,
      name: "add",
      params: { text: "hi" },
      sequence: 7n,
      ...AT,
    });
    assert.deepEqual(receipt, { sequence: 7n, status: "applied", result: 1n });
    assert.deepEqual(state.notes.get(aliceLower as Address), ["7:hi"]);
  });

  it("fails unknown commands, including Object.prototype names, without touching the state", () => {
    for (const name of ["nope", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const { state, receipt } = applyCommand(notesApp, start, {
        sender: alice,
        name,
        params: {},
        sequence: 1n,
        ...AT,
      });
      assert.equal(state, start);
      assert.equal(receipt.status, "failed");
      assert.match(receipt.reason ?? "", /unknown command/);
    }
  });

  it("fails bad params with the schema's message", () => {
    for (const params of [{}, { text: 5 }, { text: "x".repeat(17) }, { text: "x", extra: 1 }, null, []]) {
      const { state, receipt } = applyCommand(notesApp, start, {
        sender: alice,
        name: "add",
        params,
        sequence: 1n,
        ...AT,
      });
      assert.equal(state, start);
      assert.equal(receipt.status, "failed");
      assert.match(receipt.reason ?? "", /^invalid params: params/);
    }
  });

  it("fails an app rejection with its reason, cut to a bounded length", () => {
    const short = applyCommand(notesApp, start, {
      sender: alice,
      name: "refuse",
      params: { why: "no" },
      sequence: 2n,
      ...AT,
    });
    assert.deepEqual(short, {
      state: start,
      receipt: { sequence: 2n, status: "failed", reason: "no" },
    });
    const long = applyCommand(notesApp, start, {
      sender: alice,
      name: "refuse",
      params: { why: "y".repeat(999) },
      sequence: 2n,
      ...AT,
    });
    assert.equal(long.receipt.reason?.length, MAX_REASON_LENGTH);
  });

  it("hides an app bug's message and keeps the old state", () => {
    const state = { notes: new Map([[aliceLower as Address, ["x"]]]), count: 1n };
    const crashed = applyCommand(notesApp, state, {
      sender: alice,
      name: "crash",
      params: {},
      sequence: 3n,
      ...AT,
    });
    assert.equal(crashed.state, state);
    assert.equal(crashed.receipt.reason, "the app failed on this command");
    assert.equal(
      applyCommand(notesApp, start, { sender: alice, name: "nothing", params: {}, sequence: 3n, ...AT })
        .receipt.status,
      "failed",
    );
    assert.equal(
      applyCommand(notesApp, start, { sender: alice, name: "badResult", params: {}, sequence: 3n, ...AT })
        .receipt.status,
      "failed",
    );
  });

  it("refuses a malformed sender as a programming error", () => {
    assert.throws(
      () =>
        applyCommand(notesApp, start, {
          sender: "0x12" as Address,
          name: "add",
          params: {},
          sequence: 0n,
          ...AT,
        }),
      TypeError,
    );
  });
});

describe("checkCommand", () => {
  it("answers early for unknown names and bad params", () => {
    assert.deepEqual(checkCommand(notesApp, "add", { text: "ok" }), { ok: true });
    assert.equal(checkCommand(notesApp, "nope", {}).ok, false);
    assert.match(
      (checkCommand(notesApp, "add", {}) as { reason: string }).reason,
      /params.text: is required/,
    );
  });
});

describe("runQuery", () => {
  const state = applyCommand(notesApp, notesApp.initialState(), {
    sender: alice,
    name: "add",
    params: { text: "a" },
    sequence: 0n,
    ...AT,
  }).state;
  it("answers with the caller's view", () => {
    assert.deepEqual(runQuery(notesApp, state, { timestamp: 0n, sender: alice, name: "mine", params: {} }), {
      status: "ok",
      result: ["0:a"],
    });
    assert.deepEqual(
      runQuery(notesApp, state, { timestamp: 0n, sender: alice, name: "count", params: { plus: "2" } }),
      {
        status: "ok",
        result: 3n,
      },
    );
  });
  it("rejects unknown queries, bad params and the app's refusals", () => {
    assert.match(
      JSON.stringify(
        runQuery(notesApp, state, { timestamp: 0n, sender: alice, name: "valueOf", params: {} }),
      ),
      /unknown query/,
    );
    assert.match(
      JSON.stringify(runQuery(notesApp, state, { timestamp: 0n, sender: alice, name: "count", params: {} })),
      /invalid params/,
    );
    assert.deepEqual(
      runQuery(notesApp, state, { timestamp: 0n, sender: alice, name: "secret", params: {} }),
      {
        status: "rejected",
        reason: "not allowed to read",
      },
    );
  });
});

describe("state encoding", () => {
  it("round-trips and gives equal digests for equal states however they were built", () => {
    let a = notesApp.initialState();
    let b = notesApp.initialState();
    const bob = "0x00000000000000000000000000000000000000b0" as Address;
    a = applyCommand(notesApp, a, {
      sender: alice,
      name: "add",
      params: { text: "1" },
      sequence: 0n,
      ...AT,
    }).state;
    a = applyCommand(notesApp, a, {
      sender: bob,
      name: "add",
      params: { text: "2" },
      sequence: 1n,
      ...AT,
    }).state;
    // Same notes, Map filled in the other order.
    b = {
      count: 2n,
      notes: new Map([
        [bob, ["1:2"]],
        [aliceLower as Address, ["0:1"]],
      ]),
    };
    assert.equal(stateDigest(a), stateDigest(b));
    const decoded = decodeAppState<Notes>(encodeAppState(a));
    assert.deepEqual(encodeAppState(decoded), encodeAppState(a));
    assert.deepEqual(decoded.notes.get(bob), ["1:2"]);
    assert.equal(stateDigest(decoded), stateDigest(a));
    assert.notEqual(stateDigest({ ...a, count: 3n }), stateDigest(a));
  });
});

describe("defineApp", () => {
  it("checks names and params schemas", () => {
    const base = { initialState: () => null, commands: {}, queries: {} };
    assert.throws(() => defineApp({ ...base, name: "bad name" }), /app name/);
    assert.throws(
      () =>
        defineApp({ ...base, name: "ok", commands: { "9x": { params: object({}), run: (s: null) => s } } }),
      /command name/,
    );
    assert.throws(
      () => defineApp({ ...base, name: "ok", queries: { q: { params: uint() as never, run: () => null } } }),
      /object schema/,
    );
    assert.throws(
      () => defineApp({ ...base, name: "ok", initialState: () => new Set() as never }),
      /initial state/,
    );
    assert.ok(Object.isFrozen(defineApp({ ...base, name: "ok" }).commands));
  });
});

describe("the deterministic context", () => {
  const seedA = new Uint8Array(32).fill(1);
  const seedB = new Uint8Array(32).fill(2);
  const at = (seed: Uint8Array, timestamp = 1_700_000_000n) => ({ timestamp, seed });
  type Seen = { readonly timestamp: bigint; readonly draws: readonly string[] };

  const careless = defineApp({
    name: "careless",
    initialState: (): Seen => ({ timestamp: 0n, draws: [] }),
    commands: {
      now: { params: object({}), run: (s) => ({ ...s, timestamp: BigInt(Date.now()) }) },
      dice: { params: object({}), run: (s) => ({ ...s, draws: [String(Math.random())] }) },
      later: {
        params: object({}),
        run(s) {
          setTimeout(() => undefined, 0);
          return s;
        },
      },
      swallowed: {
        params: object({}),
        run(s) {
          let draw = "0.5";
          try {
            draw = String(Math.random());
          } catch {
            // falls back, as a library might
          }
          return { ...s, draws: [draw] };
        },
      },
      awaits: { params: object({}), run: async (s: Seen) => s } as never,
      seen: {
        params: object({ n: uint({ max: 4n }) }),
        run(_s, { timestamp, random }, { n }) {
          const draws = Array.from({ length: Number(n) }, () => Buffer.from(random()).toString("hex"));
          return withResult({ timestamp, draws }, BigInt(random(64).length));
        },
      },
    },
    queries: {
      clock: { params: object({}), run: () => BigInt(Date.now()) },
      time: { params: object({}), run: (_s, { timestamp }) => timestamp },
    },
  });
  const start = careless.initialState();
  const run = (name: string, params: object = {}, seed = seedA) =>
    applyCommand(careless, start, { sender: alice, name, params, sequence: 4n, ...at(seed) });

  it("fails a command that reads the clock, Math.random or starts a timer, naming the app, command and call", () => {
    const expected: [string, string][] = [
      ["now", "app careless, command now: Date.now is not available in a handler: use ctx.timestamp"],
      ["dice", "app careless, command dice: Math.random is not available in a handler: use ctx.random()"],
      ["later", "app careless, command later: setTimeout is not available in a handler: "],
      ["swallowed", "app careless, command swallowed: Math.random is not available in a handler: "],
      ["awaits", "app careless, command awaits: a promise as a result is not available in a handler: "],
    ];
    for (const [name, reason] of expected) {
      const { state, receipt } = run(name);
      assert.equal(state, start, name);
      assert.equal(receipt.status, "failed");
      assert.ok(receipt.reason?.startsWith(reason), `${name}: ${receipt.reason}`);
    }
  });

  it("refuses a query that reads the clock by name, and gives queries the time of the answer's position", () => {
    const asked = (name: string) =>
      runQuery(careless, start, { sender: alice, name, params: {}, timestamp: 77n });
    assert.deepEqual(asked("clock"), {
      status: "rejected",
      reason: "app careless, query clock: Date.now is not available in a handler: use ctx.timestamp",
    });
    assert.deepEqual(asked("time"), { status: "ok", result: 77n });
  });

  it("gives the batch's time and the command's own random stream: same seed same bytes, new bytes per call", () => {
    const once = run("seen", { n: 3 });
    const again = run("seen", { n: 3 });
    const other = run("seen", { n: 3 }, seedB);
    assert.equal(once.receipt.result, 64n);
    const seen = once.state as Seen;
    assert.equal(seen.timestamp, 1_700_000_000n);
    assert.equal(new Set(seen.draws).size, 3, "each call draws new bytes");
    assert.deepEqual(again.state, once.state, "the same seed gives the same bytes");
    assert.ok(
      (other.state as Seen).draws.every((d) => !seen.draws.includes(d)),
      "another seed, other bytes",
    );
  });

  it("refuses a state read from the clock when the app is defined, where the sandbox is installed", () => {
    installSandbox(); // an enclave installs it before its app loads
    assert.throws(
      () =>
        defineApp({
          name: "stamped",
          initialState: () => ({ created: BigInt(Date.now()) }),
          commands: {},
          queries: {},
        }),
      /^SandboxViolation: app stamped, initialState: Date\.now is not available in a handler/,
    );
  });
});
