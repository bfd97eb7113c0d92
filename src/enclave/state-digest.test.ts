import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "viem";
import { collidingKeys } from "../../test/support/colliding-keys.js";
import { decodeValue, encodeValue, type StateKey, type StateValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import { stateDigest, stateDigestHashes } from "./state-digest.js";

const hex = (value: StateValue) => bytesToHex(stateDigest(value));

describe("state digest", () => {
  it("depends on the content only: insertion order, map kind, a decoded copy, a deleted key", () => {
    const entries: [StateKey, StateValue][] = Array.from({ length: 2_000 }, (_, i) => [`0x${i}`, BigInt(i)]);
    const forward = PersistentMap.from(entries);
    const backward = PersistentMap.from([...entries].reverse());
    const native = new Map(entries);
    const state = (balances: StateValue) => ({ owner: "0xab", totalSupply: 7n, balances });
    assert.equal(hex(state(forward)), hex(state(backward)));
    assert.equal(hex(state(forward)), hex(state(native)), "a native Map digests as the persistent one");
    assert.equal(
      hex(decodeValue(encodeValue(state(native)))),
      hex(state(forward)),
      "decoded, it is the same",
    );
    assert.equal(hex(forward.set("extra", 1n).delete("extra")), hex(forward));
    const [a, b] = collidingKeys();
    assert.equal(
      hex(
        PersistentMap.from([
          [a, 1n],
          [b, 2n],
        ]),
      ),
      hex(
        PersistentMap.from([
          [b, 2n],
          [a, 1n],
        ]),
      ),
      "a collision leaf does not remember which key came first",
    );
    assert.equal(hex({ x: 1n, y: [1, "a", null, true] }), hex({ y: [1, "a", null, true], x: 1n }));
  });

  it("changes with any change of content or type", () => {
    const base = PersistentMap.from<StateKey, StateValue>([
      ["a", 1n],
      ["b", 2n],
    ]);
    const digests = new Set(
      [
        base,
        base.set("a", 3n),
        base.set("c", 0n),
        base.delete("b"),
        base.set("a", 1),
        base.set("a", "1"),
        PersistentMap.from<StateKey, StateValue>([
          [1, 1n],
          ["b", 2n],
        ]),
        { a: 1n, b: 2n },
        [1n, 2n],
        ["a", 1n, "b", 2n],
        null,
        false,
        0,
        "",
      ].map((v) => hex(v as StateValue)),
    );
    assert.equal(digests.size, 14);
  });

  it("after one change, costs the changed path: the rest is digested once", () => {
    let map = PersistentMap.empty<StateKey, StateValue>();
    for (let i = 0; i < 20_000; i++) map = map.set(`holder-${i}`, BigInt(i));
    const before = stateDigestHashes();
    stateDigest(map);
    const whole = stateDigestHashes() - before;
    assert.ok(whole > 20_000, `the whole map: ${whole} hashes`);
    const again = stateDigestHashes();
    stateDigest(map.set("holder-7", 99n));
    const path = stateDigestHashes() - again;
    // The branches above the change (the trie is ~3 deep), and the few leaves of the lowest one,
    // whose digests are kept only through it.
    assert.ok(path <= 48, `one change: ${path} hashes`);
  });
});
