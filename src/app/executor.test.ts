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
import { object, string, uint } from "./schema.js";

const alice = "0xAbCdEf0000000000000000000000000000000001" as Address;
const aliceLower = alice.toLowerCase();

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
    });
    assert.deepEqual(short, { state: start, receipt: { sequence: 2n, status: "failed", reason: "no" } });
    const long = applyCommand(notesApp, start, {
      sender: alice,
      name: "refuse",
      params: { why: "y".repeat(999) },
      sequence: 2n,
    });
    assert.equal(long.receipt.reason?.length, MAX_REASON_LENGTH);
  });

  it("hides an app bug's message and keeps the old state", () => {
    const state = { notes: new Map([[aliceLower as Address, ["x"]]]), count: 1n };
    const crashed = applyCommand(notesApp, state, { sender: alice, name: "crash", params: {}, sequence: 3n });
    assert.equal(crashed.state, state);
    assert.equal(crashed.receipt.reason, "the app failed on this command");
    assert.equal(
      applyCommand(notesApp, start, { sender: alice, name: "nothing", params: {}, sequence: 3n }).receipt
        .status,
      "failed",
    );
    assert.equal(
      applyCommand(notesApp, start, { sender: alice, name: "badResult", params: {}, sequence: 3n }).receipt
        .status,
      "failed",
    );
  });

  it("refuses a malformed sender as a programming error", () => {
    assert.throws(
      () =>
        applyCommand(notesApp, start, { sender: "0x12" as Address, name: "add", params: {}, sequence: 0n }),
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
  }).state;
  it("answers with the caller's view", () => {
    assert.deepEqual(runQuery(notesApp, state, { sender: alice, name: "mine", params: {} }), {
      status: "ok",
      result: ["0:a"],
    });
    assert.deepEqual(runQuery(notesApp, state, { sender: alice, name: "count", params: { plus: "2" } }), {
      status: "ok",
      result: 3n,
    });
  });
  it("rejects unknown queries, bad params and the app's refusals", () => {
    assert.match(
      JSON.stringify(runQuery(notesApp, state, { sender: alice, name: "valueOf", params: {} })),
      /unknown query/,
    );
    assert.match(
      JSON.stringify(runQuery(notesApp, state, { sender: alice, name: "count", params: {} })),
      /invalid params/,
    );
    assert.deepEqual(runQuery(notesApp, state, { sender: alice, name: "secret", params: {} }), {
      status: "rejected",
      reason: "not allowed to read",
    });
  });
});

describe("state encoding", () => {
  it("round-trips and gives equal digests for equal states however they were built", () => {
    let a = notesApp.initialState();
    let b = notesApp.initialState();
    const bob = "0x00000000000000000000000000000000000000b0" as Address;
    a = applyCommand(notesApp, a, { sender: alice, name: "add", params: { text: "1" }, sequence: 0n }).state;
    a = applyCommand(notesApp, a, { sender: bob, name: "add", params: { text: "2" }, sequence: 1n }).state;
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
