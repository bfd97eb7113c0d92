// A command's random stream (`ctx.random`): the bytes a handler asks for, drawn in order from the
// 32-byte seed the enclave derived for the command (src/enclave/app-randomness.ts). Pure: the same
// seed and the same calls give the same bytes in every enclave and every run. Pure hashing only, so
// it runs inside the handler's span without touching anything the sandbox guards.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { MAX_RANDOM_BYTES } from "./app.js";

/** The seed's length: one SHA-256 output. */
export const RANDOM_SEED_BYTES = 32;
const BLOCK_BYTES = 32;
const DEFAULT_LENGTH = 32;
const COUNTER_BYTES = 8;

/** A command's seed, or how to compute it when the handler first draws (most commands draw nothing). */
export type RandomSeed = Uint8Array | (() => Uint8Array);

function checked(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== RANDOM_SEED_BYTES) throw new TypeError(`a random seed is ${RANDOM_SEED_BYTES} bytes`);
  return bytes;
}

/** `ctx.random` for one command: the bytes of HMAC-SHA256(seed, u64 block index), block after block. */
export function randomStream(seed: RandomSeed): (length?: number) => Uint8Array {
  // Bytes are copied now (a caller's buffer may be reused); a function is called at the first draw.
  let key = typeof seed === "function" ? undefined : checked(seed.slice());
  let block = 0n;
  return (length = DEFAULT_LENGTH) => {
    key ??= checked((seed as () => Uint8Array)());
    if (!Number.isSafeInteger(length) || length < 1 || length > MAX_RANDOM_BYTES)
      throw new RangeError(`ctx.random takes a length from 1 to ${MAX_RANDOM_BYTES}, not ${length}`);
    const out = new Uint8Array(length);
    const counter = new Uint8Array(COUNTER_BYTES);
    const view = new DataView(counter.buffer);
    for (let at = 0; at < length; at += BLOCK_BYTES) {
      view.setBigUint64(0, block++);
      out.set(hmac(sha256, key, counter).subarray(0, length - at), at);
    }
    return out;
  };
}
