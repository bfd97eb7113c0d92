// The randomness a command's handler draws from (`ctx.random`, src/app/random-stream.ts): a 32-byte
// seed per command,
//
//   batch key = HKDF-SHA256(IKM = epoch key, salt = head(seq), info = "anonify.app.randomness.v1"
//               ‖ u256 chainId ‖ contract ‖ u64 MLS epoch ‖ u64 seq)          (RFC 5869, 32 bytes)
//   seed(sequence) = HMAC-SHA256(batch key, u64 sequence)
//
// where the epoch key is the MLS exporter secret of the epoch the batch is sealed for (group-keys.ts:
// the batch keys come from it too, under another info), `seq` and `head(seq)` are the batch event's
// place in the contract's one sequence, and `sequence` is the command's place in the ledger's order.
// Every member applies a batch in that epoch at that place, so every member derives the same seeds; a
// joiner applies only batches after the handshake that added it, whose epoch key it holds. Nobody
// outside the group has the epoch key: a user cannot know a seed before the command is ordered, and a
// host cannot move a command to another seed without feeding its enclave a place the chain's hash
// chain refuses. The head commits to everything before the batch and to the batch itself (its
// ciphertext under an enclave-chosen nonce, its block time), so a seed cannot be known before then.
import { hexToBytes } from "viem";
import { hmacSha256Of } from "../protocol/bytes.js";
import type { ChainPosition, LedgerDomain } from "../protocol/digests.js";

export const APP_RANDOMNESS_LABEL = "anonify.app.randomness.v1";
const LABEL = new TextEncoder().encode(APP_RANDOMNESS_LABEL);
const U64_BYTES = 8;
const U256_BYTES = 32;
const HKDF_FIRST_BLOCK = Uint8Array.of(1);

const u64 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(U64_BYTES);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
};
const u256 = (n: bigint): Uint8Array => hexToBytes(`0x${n.toString(16).padStart(U256_BYTES * 2, "0")}`);

/**
 * The seeds of one batch's commands: `at` is the batch event's place, `mlsEpoch` its epoch. A seed is
 * computed when asked for (the executor asks when a handler first draws), so a command that draws
 * nothing costs nothing.
 */
export function batchSeeds(
  epochKey: Uint8Array,
  domain: LedgerDomain,
  mlsEpoch: bigint,
  at: ChainPosition,
): (sequence: bigint) => Uint8Array {
  const info = [LABEL, u256(BigInt(domain.chainId)), hexToBytes(domain.contract), u64(mlsEpoch), u64(at.seq)];
  const pseudorandomKey = hmacSha256Of(hexToBytes(at.head), [epochKey]); // HKDF-Extract
  const key = hmacSha256Of(pseudorandomKey, [...info, HKDF_FIRST_BLOCK]); // HKDF-Expand, one block
  pseudorandomKey.fill(0);
  return (sequence) => hmacSha256Of(key, [u64(sequence)]);
}
