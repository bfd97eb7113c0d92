import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collidingKeys } from "../../test/support/colliding-keys.js";
import type { StateKey } from "./canonical.js";
import { decodeValue, encodeValue } from "./canonical.js";
import { hashKey, PersistentMap } from "./pmap.js";

/** A small deterministic PRNG (xorshift32), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const sorted = (entries: Iterable<readonly [StateKey, unknown]>) =>
  [...entries]
    .map(([k, v]) => [`${typeof k}:${String(k)}`, v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe("PersistentMap", () => {
  it("behaves like a Map under random sets and deletes, and never changes an old version", () => {
    const next = rng(42);
    let map = PersistentMap.empty<StateKey, number>();
    const model = new Map<StateKey, number>();
    const versions: [PersistentMap<StateKey, number>, [string, unknown][]][] = [];
    const keyOf = (n: number): StateKey =>
      n % 4 === 0 ? n : n % 4 === 1 ? `s${n}` : n % 4 === 2 ? BigInt(n) : n % 8 === 3;
    for (let step = 0; step < 5000; step++) {
      const key = keyOf(Math.floor(next() * 600));
      if (next() < 0.35) {
        map = map.delete(key);
        model.delete(key);
      } else {
        const value = Math.floor(next() * 1000);
        map = map.set(key, value);
        model.set(key, value);
      }
      assert.equal(map.size, model.size);
      if (step % 500 === 0) versions.push([map, sorted(model) as [string, unknown][]]);
    }
    for (const [key, value] of model) assert.equal(map.get(key), value);
    assert.equal(map.get("absent"), undefined);
    assert.equal(map.has("absent"), false);
    assert.deepEqual(sorted(map), sorted(model));
    for (const [old, entries] of versions) assert.deepEqual(sorted(old), entries);
  });

  it("treats keys as a Map does: by type and value, -0 as 0", () => {
    const map = PersistentMap.empty<StateKey, string>()
      .set(1, "number")
      .set("1", "string")
      .set(1n, "bigint")
      .set(-0, "zero");
    assert.equal(map.size, 4);
    assert.equal(map.get(1), "number");
    assert.equal(map.get("1"), "string");
    assert.equal(map.get(1n), "bigint");
    assert.equal(map.get(0), "zero");
    assert.throws(() => map.set(Number.NaN, "x"), TypeError);
    assert.throws(() => map.set({} as never, "x"), TypeError);
  });

  it("keeps keys whose hashes collide apart", () => {
    const [a, b] = collidingKeys();
    assert.equal(hashKey(a), hashKey(b));
    let map = PersistentMap.empty<string, number>().set(a, 1).set(b, 2).set("other", 3);
    assert.equal(map.get(a), 1);
    assert.equal(map.get(b), 2);
    map = map.set(a, 10).delete(b);
    assert.deepEqual(
      [...map].sort(),
      [
        [a, 10],
        ["other", 3],
      ].sort(),
    );
    assert.equal(map.delete(a).delete("other").size, 0);
  });

  it("returns itself when nothing changes", () => {
    const map = PersistentMap.from<string, number>([["a", 1]]);
    assert.equal(map.set("a", 1), map);
    assert.equal(map.delete("b"), map);
  });

  it("encodes like a Map with the same entries and decodes to a PersistentMap", () => {
    const entries: [string, bigint][] = Array.from({ length: 100 }, (_, i) => [`0x${i}`, BigInt(i)]);
    const persistent = PersistentMap.from(entries);
    assert.deepEqual(encodeValue(persistent), encodeValue(new Map(entries.reverse())));
    const decoded = decodeValue(encodeValue({ m: persistent })) as { m: PersistentMap<string, bigint> };
    assert.ok(decoded.m instanceof PersistentMap);
    assert.equal(decoded.m.get("0x42"), 42n);
    assert.ok(Object.isFrozen(decoded.m));
  });
});
