import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concatBytes } from "@noble/hashes/utils.js";
import type { LedgerDomain } from "./digests.js";
import {
  ENVELOPE_KIND,
  ENVELOPE_OVERHEAD_BYTES,
  ENVELOPE_VERSION,
  MIN_BUCKET,
  openEnvelope,
  sealEnvelope,
} from "./envelope.js";
import { hpkeGenerateKeyPair, hpkeSeal } from "./hpke.js";
import { LENGTH_PREFIX_BYTES, PADDING_BUCKETS, pad } from "./padding.js";
import { ADDRESS_BYTES, CHAIN_ID_BYTES, WireError, writeDomain } from "./wire.js";

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const filled = (length: number, byte = 0x5a) => new Uint8Array(length).fill(byte);
const code = (expected: string) => (e: unknown) => e instanceof WireError && e.code === expected;
const MAX = 2 * 1024 * 1024;
/** The smallest bucket of the commands these tests seal. */
const FLOOR = MIN_BUCKET.command;

/** An envelope built by hand from the layout documented in envelope.ts, around any AEAD plaintext. */
async function handmade(recipientPublicKey: Uint8Array, padded: Uint8Array, version = ENVELOPE_VERSION) {
  const header = new Uint8Array(2 + CHAIN_ID_BYTES + ADDRESS_BYTES);
  header[0] = version;
  header[1] = ENVELOPE_KIND.command;
  writeDomain(header, 2, domain);
  const info = concatBytes(new TextEncoder().encode("anonify.envelope.v1\0"), header);
  const { enc, ciphertext } = await hpkeSeal(recipientPublicKey, info, padded);
  return concatBytes(header, enc, ciphertext);
}

describe("envelope padding", () => {
  it("seals every message to header + a bucket + tag: lengths within a bucket look alike", async () => {
    const { publicKey, privateKey } = await hpkeGenerateKeyPair();
    const seal = (plaintext: Uint8Array) =>
      sealEnvelope({ kind: "command", domain, recipientPublicKey: publicKey, plaintext });
    const short = await seal(filled(1));
    const edge = await seal(filled(FLOOR - LENGTH_PREFIX_BYTES));
    assert.equal(short.length, edge.length);
    assert.equal(short.length, ENVELOPE_OVERHEAD_BYTES + FLOOR);
    const next = PADDING_BUCKETS[(PADDING_BUCKETS as readonly number[]).indexOf(FLOOR) + 1]!;
    assert.equal((await seal(filled(FLOOR - 3))).length, ENVELOPE_OVERHEAD_BYTES + next);
    for (const [sealed, length] of [
      [short, 1],
      [edge, FLOOR - LENGTH_PREFIX_BYTES],
    ] as const) {
      const opened = await openEnvelope({
        kind: "command",
        recipientPrivateKey: privateKey,
        envelope: sealed,
        maxBytes: MAX,
      });
      assert.deepEqual(opened.plaintext, filled(length));
    }
  });

  it("refuses on open a padded plaintext with non-zero padding, a wrong length or trailing bytes", async () => {
    const { publicKey, privateKey } = await hpkeGenerateKeyPair();
    const open = (envelope: Uint8Array) =>
      openEnvelope({ kind: "command", domain, recipientPrivateKey: privateKey, envelope, maxBytes: MAX });
    const good = pad(filled(20), FLOOR);
    // The hand-made envelope follows the documented layout: the well-padded one opens.
    assert.deepEqual((await open(await handmade(publicKey, good))).plaintext, filled(20));

    const nonZero = good.slice();
    nonZero[LENGTH_PREFIX_BYTES + 20] = 1;
    await assert.rejects(open(await handmade(publicKey, nonZero)), code("bad_padding"));
    const wrongLength = good.slice();
    new DataView(wrongLength.buffer).setUint32(0, FLOOR + 1); // content that needs the next bucket
    await assert.rejects(open(await handmade(publicKey, wrongLength)), code("bad_padding"));
    const notSmallest = new Uint8Array(
      PADDING_BUCKETS[(PADDING_BUCKETS as readonly number[]).indexOf(FLOOR) + 1]!,
    ); // 20 bytes of content padded to the next bucket
    notSmallest.set(good);
    await assert.rejects(open(await handmade(publicKey, notSmallest)), code("bad_padding"));
    const unpadded = filled(FLOOR); // a bucket's size, no length prefix: claims 0x5a5a5a5a bytes
    await assert.rejects(open(await handmade(publicKey, unpadded)), code("bad_padding"));
  });

  it("refuses before decrypting an envelope whose size is no bucket, or of the previous version", async () => {
    const { publicKey, privateKey } = await hpkeGenerateKeyPair();
    const open = (envelope: Uint8Array) =>
      openEnvelope({ kind: "command", domain, recipientPrivateKey: privateKey, envelope, maxBytes: MAX });
    const sealed = await handmade(publicKey, pad(filled(20), FLOOR));
    await assert.rejects(open(concatBytes(sealed, new Uint8Array(1))), code("malformed"));
    await assert.rejects(open(await handmade(publicKey, filled(300))), code("malformed"));
    // A padding bucket below the envelopes' floor: well padded for a batch slot, not for an envelope.
    await assert.rejects(open(await handmade(publicKey, pad(filled(20)))), code("malformed"));
    const v1 = await handmade(publicKey, pad(filled(20), FLOOR), 1);
    await assert.rejects(open(v1), code("unsupported_version"));
    // A version byte changed in place: refused in clear, and it is bound into `info` besides.
    const flipped = sealed.slice();
    flipped[0] = 1;
    await assert.rejects(open(flipped), code("unsupported_version"));
  });
});
