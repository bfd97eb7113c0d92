// The seeds of commands' randomness, against the derivation written at the top of app-randomness.ts
// computed again with Node's own HKDF and HMAC: the same for the same epoch and place, another for
// any other epoch key, epoch, place, chain or contract.
import assert from "node:assert/strict";
import { createHmac, hkdfSync } from "node:crypto";
import { describe, it } from "node:test";
import { type Hex, hexToBytes, pad, toHex } from "viem";
import { APP_RANDOMNESS_LABEL, batchSeeds } from "./app-randomness.js";

const DOMAIN = { chainId: 31337, contract: `0x${"cd".repeat(20)}` as Hex };
const KEY = new Uint8Array(32).fill(5);
const AT = { seq: 12n, head: `0x${"ab".repeat(32)}` as Hex };

/** The derivation as written, by other code. */
function expected(key: Uint8Array, epoch: bigint, at: typeof AT, sequence: bigint): Buffer {
  const u64 = (n: bigint) => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(n);
    return out;
  };
  const info = Buffer.concat([
    Buffer.from(APP_RANDOMNESS_LABEL),
    hexToBytes(pad(toHex(DOMAIN.chainId), { size: 32 })),
    hexToBytes(DOMAIN.contract),
    u64(epoch),
    u64(at.seq),
  ]);
  const batchKey = Buffer.from(hkdfSync("sha256", key, hexToBytes(at.head), info, 32));
  return createHmac("sha256", batchKey).update(u64(sequence)).digest();
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("command randomness seeds", () => {
  it("are the derivation as documented, and the same for the same epoch and place", () => {
    const seed = batchSeeds(KEY, DOMAIN, 3n, AT)(40n);
    assert.equal(hex(seed), expected(KEY, 3n, AT, 40n).toString("hex"));
    assert.equal(hex(batchSeeds(KEY, DOMAIN, 3n, AT)(40n)), hex(seed));
  });

  it("differ for another command, batch place, epoch, epoch key, chain or contract", () => {
    const seed = hex(batchSeeds(KEY, DOMAIN, 3n, AT)(40n));
    const others = [
      batchSeeds(KEY, DOMAIN, 3n, AT)(41n),
      batchSeeds(KEY, DOMAIN, 3n, { ...AT, seq: 13n })(40n),
      batchSeeds(KEY, DOMAIN, 3n, { ...AT, head: `0x${"ac".repeat(32)}` })(40n),
      batchSeeds(KEY, DOMAIN, 4n, AT)(40n),
      batchSeeds(new Uint8Array(32).fill(6), DOMAIN, 3n, AT)(40n),
      batchSeeds(KEY, { ...DOMAIN, chainId: 1 }, 3n, AT)(40n),
      batchSeeds(KEY, { ...DOMAIN, contract: `0x${"ce".repeat(20)}` }, 3n, AT)(40n),
    ].map(hex);
    assert.equal(new Set([seed, ...others]).size, others.length + 1);
  });
});
