// The snapshot codec: a round trip, deterministic sealing (the same state gives the same bytes at
// every member), and strict decoding — one byte string per snapshot, everything else refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Hex } from "viem";
import {
  encodeSnapshotHeader,
  MAX_SNAPSHOT_BYTES,
  openSnapshot,
  padme,
  readSnapshotHeader,
  SNAPSHOT_HEADER_BYTES,
  SnapshotError,
  type SnapshotHeader,
  sealSnapshot,
} from "./snapshot.js";

const KEY = new Uint8Array(32).fill(5);
const HEADER: SnapshotHeader = {
  domain: { chainId: 31337, contract: `0x${"cd".repeat(20)}` },
  slot: 4n,
  seq: 31n,
  head: `0x${"ab".repeat(32)}` as Hex,
  sequence: 120n,
  batches: 9n,
};
const PAYLOAD = new TextEncoder().encode('{"app":{"total":{"$bigint":"5"}}}');

const refused = (f: () => unknown, code: string, pattern?: RegExp) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof SnapshotError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });

/** Seals as the codec does, but with the nonce and plaintext a forger chooses. */
function sealWith(plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const head = encodeSnapshotHeader(HEADER);
  const enc = hkdf(sha256, KEY, undefined, new TextEncoder().encode("anonify.snapshot.encryption.v1"), 32);
  const nonceKey = hkdf(sha256, KEY, undefined, new TextEncoder().encode("anonify.snapshot.nonce.v1"), 32);
  const mac = hmac.create(sha256, nonceKey);
  mac.update(head);
  mac.update(plaintext);
  const n = nonce ?? mac.digest().subarray(0, 24);
  const sealed = xchacha20poly1305(enc, n, head).encrypt(plaintext);
  const out = new Uint8Array(head.length + 24 + sealed.length);
  out.set(head, 0);
  out.set(n, head.length);
  out.set(sealed, head.length + 24);
  return out;
}

function padded(payload: Uint8Array, size = padme(4 + payload.length)): Uint8Array {
  const plaintext = new Uint8Array(size);
  new DataView(plaintext.buffer).setUint32(0, payload.length);
  plaintext.set(payload, 4);
  return plaintext;
}

describe("state snapshot codec", () => {
  it("round-trips header and payload; the same inputs seal to the same bytes", () => {
    const bytes = sealSnapshot(KEY, HEADER, PAYLOAD);
    assert.deepEqual(readSnapshotHeader(bytes), HEADER);
    const opened = openSnapshot(KEY, bytes);
    assert.deepEqual(opened.header, HEADER);
    assert.deepEqual(opened.payload, PAYLOAD);
    assert.deepEqual(sealSnapshot(KEY, HEADER, PAYLOAD), bytes, "deterministic");
    assert.deepEqual(sealWith(padded(PAYLOAD)), bytes, "the layout the file documents");
    const other = sealSnapshot(KEY, HEADER, new TextEncoder().encode('{"app":{"total":{"$bigint":"6"}}}'));
    assert.notDeepEqual(
      other.subarray(SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES + 24),
      bytes.subarray(SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES + 24),
      "another state, another nonce",
    );
    assert.deepEqual(
      openSnapshot(KEY, sealSnapshot(KEY, HEADER, new Uint8Array())).payload,
      new Uint8Array(),
    );
  });

  it("pads with Padmé: never shorter, at most ~12% longer, few distinct sizes", () => {
    const sizes = new Set<number>();
    for (let length = 1; length < 200_000; length += 97) {
      const size = padme(length);
      assert.ok(size >= length && size <= length * 1.12 + 1, `${length} → ${size}`);
      sizes.add(size);
    }
    assert.ok(sizes.size < 400, `${sizes.size} sizes for ~2,000 lengths`);
    assert.equal(padme(1_000_000), 1_015_808);
  });

  it("opens with its own key only; any changed byte is refused", () => {
    const bytes = sealSnapshot(KEY, HEADER, PAYLOAD);
    refused(() => openSnapshot(new Uint8Array(32).fill(6), bytes), "undecryptable");
    refused(() => openSnapshot(new Uint8Array(31), bytes), "malformed");
    for (let at = 0; at < bytes.length; at++) {
      const copy = bytes.slice();
      copy[at]! ^= 0x40;
      assert.throws(() => openSnapshot(KEY, copy), SnapshotError, `byte ${at}`);
    }
  });

  it("decodes strictly: version, length, header fields, synthetic nonce, padding", () => {
    const bytes = sealSnapshot(KEY, HEADER, PAYLOAD);
    const version = bytes.slice();
    version[0] = 1;
    refused(() => readSnapshotHeader(version), "unsupported_version");
    refused(
      () => readSnapshotHeader(bytes.subarray(0, SNAPSHOT_HEADER_BYTES + 24 + 19)),
      "malformed",
      /truncated/,
    );
    refused(() => readSnapshotHeader(new Uint8Array(MAX_SNAPSHOT_BYTES + 1)), "too_large");
    const noChain = bytes.slice();
    noChain.fill(0, 1, 9);
    refused(() => readSnapshotHeader(noChain), "malformed", /chain id/);
    refused(() => encodeSnapshotHeader({ ...HEADER, slot: 2n ** 64n }), "malformed");
    refused(() => encodeSnapshotHeader({ ...HEADER, sequence: -1n }), "malformed");
    refused(() => encodeSnapshotHeader({ ...HEADER, head: "0x01" }), "malformed");

    // Sealed correctly but not as sealSnapshot seals: another nonce, padding that is not zeros or
    // not the Padmé size, a length past the end. One byte string per snapshot.
    refused(
      () => openSnapshot(KEY, sealWith(padded(PAYLOAD), new Uint8Array(24).fill(1))),
      "malformed",
      /nonce/,
    );
    const dirty = padded(PAYLOAD);
    dirty[dirty.length - 1] = 1;
    refused(() => openSnapshot(KEY, sealWith(dirty)), "malformed", /padding/);
    refused(
      () => openSnapshot(KEY, sealWith(padded(PAYLOAD, padme(4 + PAYLOAD.length) + 8))),
      "malformed",
      /padding/,
    );
    const long = padded(PAYLOAD);
    new DataView(long.buffer).setUint32(0, long.length);
    refused(() => openSnapshot(KEY, sealWith(long)), "malformed", /padding/);
  });
});
