import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CanonicalError,
  canonicalJson,
  decodeValue,
  encodeValue,
  MAX_DEPTH,
  parseCanonicalJson,
  type StateValue,
} from "./canonical.js";
import { PersistentMap } from "./pmap.js";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

describe("canonicalJson (RFC 8785)", () => {
  it("sorts keys by UTF-16 code units and writes no whitespace", () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, "x"], A: {} }), '{"A":{},"a":[true,null,"x"],"b":1}');
    // U+20AC (€) sorts before U+1F600 (😀, a surrogate pair starting 0xD83D) in UTF-16 order.
    assert.equal(canonicalJson({ "😀": 1, "€": 2 }), '{"€":2,"😀":1}');
  });

  it("writes numbers as ECMAScript does and bigints as decimal strings", () => {
    assert.equal(canonicalJson([1e21, 0.1, -0, 1.5e-7]), "[1e+21,0.1,0,1.5e-7]");
    assert.equal(canonicalJson({ amount: 10n ** 30n }), '{"amount":"1000000000000000000000000000000"}');
  });

  it("refuses what JSON cannot say exactly", () => {
    for (const bad of [
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      () => 1,
      Symbol("s"),
      new Date(0),
      "\ud800",
    ]) {
      assert.throws(() => canonicalJson(bad), CanonicalError);
    }
    assert.throws(() => canonicalJson({ a: undefined }), /undefined/);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    assert.throws(() => canonicalJson([1, , 3]), /hole/);
  });

  it("parses only canonical text", () => {
    assert.deepEqual(parseCanonicalJson('{"a":1,"b":"x"}'), { a: 1, b: "x" });
    for (const bad of [
      '{"b":1,"a":2}',
      '{ "a":1}',
      '{"a":1.0}',
      '{"a":1,"a":1}',
      '{"a":"\\u0041"}',
      "nope",
    ]) {
      assert.throws(() => parseCanonicalJson(bad), CanonicalError, bad);
    }
  });

  it("bounds nesting", () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), /deeper/);
  });
});

describe("encodeValue / decodeValue", () => {
  const state: StateValue = {
    total: 10n ** 40n,
    neg: -5n,
    balances: new Map<string, StateValue>([
      ["0xbb", 2n],
      ["0xaa", 1n],
    ]),
    nested: new Map([[1, new Map([[true, "x"]])]]),
    $weird: { $bigint: "not a tag" },
    list: [1, "a", null, false],
  };

  it("round-trips bigints, Maps (as PersistentMaps) and $-keys", () => {
    const decoded = decodeValue(encodeValue(state)) as Record<string, StateValue>;
    assert.deepEqual(encodeValue(decoded), encodeValue(state));
    assert.equal(decoded.total, 10n ** 40n);
    assert.equal(decoded.neg, -5n);
    assert.deepEqual(decoded.$weird, { $bigint: "not a tag" });
    assert.deepEqual(decoded.list, [1, "a", null, false]);
    const balances = decoded.balances as PersistentMap<string, bigint>;
    assert.ok(balances instanceof PersistentMap);
    assert.equal(balances.get("0xaa"), 1n);
    assert.equal(
      ((decoded.nested as PersistentMap<number, StateValue>).get(1) as ReadonlyMap<boolean, string>).get(
        true,
      ),
      "x",
    );
  });

  it("is canonical: Map insertion order and key order do not matter", () => {
    const a = new Map<string, StateValue>([
      ["x", 1n],
      ["y", 2n],
    ]);
    const b = new Map<string, StateValue>([
      ["y", 2n],
      ["x", 1n],
    ]);
    assert.deepEqual(encodeValue({ m: a, k: 1 }), encodeValue({ k: 1, m: b }));
    assert.equal(
      text(encodeValue({ m: a, $k: 1n })),
      '{"$$k":{"$bigint":"1"},"m":{"$map":[["x",{"$bigint":"1"}],["y",{"$bigint":"2"}]]}}',
    );
  });

  it("keeps keys of different types apart", () => {
    const m = new Map<string | number | bigint, StateValue>([
      ["1", "string"],
      [1, "number"],
      [1n, "bigint"],
    ]);
    const decoded = decodeValue(encodeValue(m)) as Map<unknown, unknown>;
    assert.equal(decoded.get("1"), "string");
    assert.equal(decoded.get(1), "number");
    assert.equal(decoded.get(1n), "bigint");
  });

  it("keeps a __proto__ field as data", () => {
    const value = JSON.parse('{"__proto__":{"polluted":1}}') as StateValue;
    const decoded = decodeValue(encodeValue(value)) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.deepEqual(Object.keys(decoded), ["__proto__"]);
  });

  it("refuses values it cannot encode exactly", () => {
    assert.throws(() => encodeValue(new Map([[{}, 1]]) as unknown as StateValue), /Map keys/);
    assert.throws(() => encodeValue(new Set() as unknown as StateValue), /plain objects/);
    assert.throws(() => encodeValue({ a: undefined } as unknown as StateValue), /undefined/);
  });

  it("refuses non-canonical or forged encodings", () => {
    for (const bad of [
      '{"b":1,"a":2}',
      '{"$map":[["y",1],["x",2]]}',
      '{"$map":[["x",1],["x",2]]}',
      '{"$bigint":"01"}',
      '{"$bigint":5}',
      '{"$unknown":1}',
      '{"$map":[[[1],2]]}',
      '{"$bigint":"1","x":1}',
    ]) {
      assert.throws(() => decodeValue(bytes(bad)), CanonicalError, bad);
    }
    assert.throws(() => decodeValue(Uint8Array.of(0x22, 0xff, 0x22)), /UTF-8/);
  });
});
