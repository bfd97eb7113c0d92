import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BATCH_BUCKETS,
  BATCH_FORMAT,
  BATCH_HEADER_BYTES,
  BatchError,
  bucketFor,
  decodeBatch,
  encodeBatch,
  MAX_BATCH_COMMANDS,
  openBatch,
  SLOT_LENGTH_BYTES,
  sealBatch,
} from "./batch.js";
import type { LedgerDomain } from "./digests.js";
import { pad } from "./padding.js";
import { MAX_SIGNED_BYTES } from "./wire.js";

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const epochKey = new Uint8Array(32).fill(3);
const filled = (length: number, byte = 0xaa) => new Uint8Array(length).fill(byte);
const code = (expected: string) => (e: unknown) => e instanceof BatchError && e.code === expected;

describe("batch plaintext", () => {
  it("round-trips commands in order", () => {
    const commands = [filled(1, 1), filled(300, 2), filled(MAX_SIGNED_BYTES, 3), filled(252, 4)];
    assert.deepEqual(decodeBatch(encodeBatch(commands)), commands);
  });

  it("pads each command to its bucket: lengths within a bucket look alike", () => {
    const small = encodeBatch([filled(180)]);
    const larger = encodeBatch([filled(252)]); // 252 + 4 = 256, the bucket's edge
    assert.equal(small.length, larger.length);
    assert.equal(small.length, BATCH_HEADER_BYTES + BATCH_BUCKETS[0]!);
    assert.equal(encodeBatch([filled(253)]).length, BATCH_HEADER_BYTES + BATCH_BUCKETS[1]!);
    assert.equal(bucketFor(MAX_SIGNED_BYTES), BATCH_BUCKETS.at(-1));
    assert.equal(bucketFor(MAX_SIGNED_BYTES + 1), undefined);
  });

  it("refuses empty, oversized and too many", () => {
    assert.throws(() => encodeBatch([]), code("empty"));
    assert.throws(() => encodeBatch([filled(MAX_SIGNED_BYTES + 1)]), code("too_large"));
    assert.throws(
      () => encodeBatch(Array.from({ length: MAX_BATCH_COMMANDS + 1 }, () => filled(1))),
      code("too_large"),
    );
    // 64 slots of 16 KiB is exactly 1 MiB of slots, so header + slots is over the limit.
    assert.throws(
      () => encodeBatch(Array.from({ length: 64 }, () => filled(MAX_SIGNED_BYTES))),
      code("too_large"),
    );
  });

  it("decodes strictly", () => {
    const good = encodeBatch([filled(10), filled(20)]);
    const tweak = (at: number, value: number) => {
      const copy = good.slice();
      copy[at] = value;
      return copy;
    };
    assert.throws(
      () => decodeBatch(tweak(BATCH_HEADER_BYTES + SLOT_LENGTH_BYTES + 10, 1)),
      code("bad_padding"),
    );
    assert.throws(() => decodeBatch(tweak(0, 2)), code("unsupported_version"));
    assert.throws(() => decodeBatch(tweak(4, 3)), code("malformed")); // claims 3 commands, holds 2
    assert.throws(() => decodeBatch(tweak(4, 1)), code("malformed")); // claims 1: trailing slot
    assert.throws(() => decodeBatch(tweak(4, 0)), code("empty"));
    assert.throws(() => decodeBatch(good.subarray(0, good.length - 1)), code("malformed"));
    assert.throws(() => decodeBatch(Uint8Array.of(...good, 0)), code("malformed"));
    // A slot length that points past every bucket.
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(BATCH_HEADER_BYTES, 0xffff_ffff);
    assert.throws(() => decodeBatch(huge), code("malformed"));
    // A well-padded slot holding more than a signed command may be: the padding's larger buckets
    // (for receipts and answers) are not batch slots.
    const over = pad(filled(MAX_SIGNED_BYTES + 1));
    assert.throws(() => decodeBatch(Uint8Array.of(BATCH_FORMAT, 0, 0, 0, 1, ...over)), code("malformed"));
    assert.deepEqual(decodeBatch(Uint8Array.of(BATCH_FORMAT, 0, 0, 0, 1, ...pad(filled(9)))), [filled(9)]);
  });
});

describe("batch encryption", () => {
  const plaintext = encodeBatch([filled(100)]);

  it("round-trips and uses a fresh nonce each time", () => {
    const a = sealBatch({ epochKey, epoch: 4n, domain, plaintext });
    const b = sealBatch({ epochKey, epoch: 4n, domain, plaintext });
    assert.notDeepEqual(a, b);
    assert.deepEqual(openBatch({ epochKey, epoch: 4n, domain, ciphertext: a }), plaintext);
  });

  it("opens only under the same key, epoch, chain and contract", () => {
    const ciphertext = sealBatch({ epochKey, epoch: 4n, domain, plaintext });
    const undecryptable = code("undecryptable");
    assert.throws(() => openBatch({ epochKey: filled(32, 4), epoch: 4n, domain, ciphertext }), undecryptable);
    assert.throws(() => openBatch({ epochKey, epoch: 5n, domain, ciphertext }), undecryptable);
    assert.throws(
      () => openBatch({ epochKey, epoch: 4n, domain: { ...domain, chainId: 1 }, ciphertext }),
      undecryptable,
    );
    const otherContract = { ...domain, contract: "0x0000000000000000000000000000000000000001" as const };
    assert.throws(() => openBatch({ epochKey, epoch: 4n, domain: otherContract, ciphertext }), undecryptable);
  });

  it("detects tampering anywhere", () => {
    const ciphertext = sealBatch({ epochKey, epoch: 4n, domain, plaintext });
    for (const at of [1, 30, ciphertext.length - 1]) {
      const copy = ciphertext.slice();
      copy[at]! ^= 1;
      assert.throws(
        () => openBatch({ epochKey, epoch: 4n, domain, ciphertext: copy }),
        code("undecryptable"),
      );
    }
    const version = ciphertext.slice();
    version[0] = 9;
    assert.throws(
      () => openBatch({ epochKey, epoch: 4n, domain, ciphertext: version }),
      code("unsupported_version"),
    );
    assert.throws(
      () => openBatch({ epochKey, epoch: 4n, domain, ciphertext: ciphertext.subarray(0, 20) }),
      code("malformed"),
    );
    assert.throws(() => sealBatch({ epochKey: filled(16), epoch: 4n, domain, plaintext }), code("malformed"));
  });
});
