// `ctx.random`: the command's seed expanded as documented (HMAC-SHA256 of the seed over a block
// counter), each call taking the next blocks; lengths outside 1..MAX_RANDOM_BYTES are the app's bug.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { MAX_RANDOM_BYTES } from "./app.js";
import { randomStream } from "./random-stream.js";

const SEED = new Uint8Array(32).fill(9);
/** Block `i` of the stream, computed by other code. */
function block(i: number): Buffer {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(i));
  return createHmac("sha256", SEED).update(counter).digest();
}

describe("a command's random stream", () => {
  it("draws block after block: 32 bytes, then 40 (two blocks, the second cut), then the next block", () => {
    const random = randomStream(SEED);
    assert.deepEqual(Buffer.from(random()), block(0));
    assert.deepEqual(Buffer.from(random(40)), Buffer.concat([block(1), block(2)]).subarray(0, 40));
    assert.deepEqual(Buffer.from(random(1)), block(3).subarray(0, 1));
    assert.deepEqual(Buffer.from(randomStream(SEED)()), block(0), "a new stream starts again");
  });

  it("keeps its own copy of the seed, and refuses lengths it does not give", () => {
    const seed = SEED.slice();
    const random = randomStream(seed);
    seed.fill(0);
    assert.deepEqual(Buffer.from(random()), block(0));
    assert.equal(random(MAX_RANDOM_BYTES).length, MAX_RANDOM_BYTES);
    for (const length of [0, -1, 1.5, MAX_RANDOM_BYTES + 1, Number.NaN])
      assert.throws(() => random(length), RangeError, String(length));
    assert.throws(() => randomStream(new Uint8Array(31)), TypeError);
    assert.throws(() => randomStream(() => new Uint8Array(31))(), TypeError);
  });

  it("computes a seed given as a function once, at the first draw: a command that draws nothing pays nothing", () => {
    let computed = 0;
    const random = randomStream(() => {
      computed++;
      return SEED.slice();
    });
    assert.equal(computed, 0);
    assert.deepEqual(Buffer.from(random()), block(0));
    assert.deepEqual(Buffer.from(random(1)), block(1).subarray(0, 1));
    assert.equal(computed, 1);
  });
});
