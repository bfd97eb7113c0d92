import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LENGTH_PREFIX_BYTES,
  MAX_PADDED_CONTENT_BYTES,
  PADDING_BUCKETS,
  PaddingError,
  pad,
  paddedSize,
  readPadded,
  unpad,
} from "./padding.js";

const filled = (length: number, byte = 0xaa) => new Uint8Array(length).fill(byte);
const code = (expected: string) => (e: unknown) => e instanceof PaddingError && e.code === expected;

describe("padding to size buckets", () => {
  it("pads to the smallest bucket that holds length prefix and content, and reads it back", () => {
    assert.equal(pad(new Uint8Array(0)).length, 256);
    assert.equal(pad(filled(252)).length, 256); // 4 + 252: the bucket's edge
    assert.equal(pad(filled(253)).length, 512);
    assert.equal(pad(filled(MAX_PADDED_CONTENT_BYTES)).length, PADDING_BUCKETS.at(-1));
    assert.throws(() => pad(filled(MAX_PADDED_CONTENT_BYTES + 1)), code("too_large"));
    assert.equal(paddedSize(MAX_PADDED_CONTENT_BYTES + 1), undefined);
    for (const length of [0, 1, 252, 253, 1020, 1021, 5000]) {
      assert.deepEqual(unpad(pad(filled(length, 7))), filled(length, 7));
    }
  });

  it("decodes strictly: zeros only, the exact length, the smallest bucket, nothing after", () => {
    const good = pad(filled(10));
    const nonZero = good.slice();
    nonZero[LENGTH_PREFIX_BYTES + 10] = 1; // the first padding byte
    assert.throws(() => unpad(nonZero), code("bad_padding"));
    const lastByte = good.slice();
    lastByte[good.length - 1] = 0x80;
    assert.throws(() => unpad(lastByte), code("bad_padding"));
    // A length whose content would need another bucket than the one it came in.
    const longer = good.slice();
    new DataView(longer.buffer).setUint32(0, 253); // needs the 512 bucket; this is 256
    assert.throws(() => unpad(longer), code("malformed"));
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(0, 0xffff_ffff);
    assert.throws(() => unpad(huge), code("malformed"));
    // Content that fits 256 bytes, padded to 512: not its smallest bucket.
    const oversized = new Uint8Array(512);
    oversized.set(good);
    assert.throws(() => unpad(oversized), code("malformed"));
    assert.throws(() => unpad(Uint8Array.of(...good, 0)), code("malformed"));
    assert.throws(() => unpad(good.subarray(0, good.length - 1)), code("malformed"));
    assert.throws(() => unpad(good.subarray(0, 3)), code("malformed"));
    // A caller's limit below the bucket's capacity.
    assert.throws(() => readPadded(good, 0, 9), code("malformed"));
    assert.deepEqual(readPadded(good, 0, 10).content, filled(10));
  });
});

describe("a floor", () => {
  it("pads to the smallest bucket at or above it, and reads only that", () => {
    assert.equal(pad(filled(1), 512).length, 512);
    assert.equal(pad(filled(600), 512).length, 1024);
    assert.deepEqual(unpad(pad(filled(1), 512), undefined, 512), filled(1));
    assert.throws(() => unpad(pad(filled(1)), undefined, 512), code("malformed")); // 256: below the floor
    assert.throws(() => unpad(pad(filled(1), 512)), code("malformed")); // not the smallest without one
  });
});
