// One rule for every secp256k1 signature the protocol checks, the contract's (`recoverRaw` in
// Anonify.sol): 65 bytes r ‖ s ‖ v, s at most half the group order (its high-s twin, a second valid
// encoding of the same signature, is refused), v 27 or 28 (0 or 1 taken as 27 or 28, as the contract
// does). viem's `recoverAddress` takes high-s signatures too, so nothing that judges a signature the
// enclave or the contract also judges calls it: the enclave's key packages, leaves and batches, policy
// documents, in the enclave and in the CLI alike.
//
// libsecp256k1 compiled to WebAssembly (tiny-secp256k1, as for users' commands): a recovery is
// ~0.5 ms here against ~2.4 ms for viem's, and a verification against a known key ~0.26 ms. Not for
// the browser bundle: nothing the web page imports reaches this module.
import { keccak_256 } from "@noble/hashes/sha3.js";
import * as ecc from "tiny-secp256k1";
import { bytesToHex, type Hex, hexToBytes } from "viem";

export const SIGNATURE_BYTES = 65;
export const COMPRESSED_KEY_BYTES = 33;
const COMPACT_BYTES = 64;
const DIGEST_BYTES = 32;
const V_OFFSET = 27;
/** secp256k1's group order halved: an s above it is the malleable twin of a low one. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const UNCOMPRESSED_PREFIX_BYTES = 1;
const ADDRESS_BYTES = 20;

export class SignatureError extends Error {
  override name = "SignatureError";
}

/** A signature's compact form (r ‖ s) and recovery bit, if it follows the rule; else SignatureError. */
export function signatureParts(signature: Hex | Uint8Array): { compact: Uint8Array; recovery: 0 | 1 } {
  const bytes = typeof signature === "string" ? hexToBytes(signature) : signature;
  if (bytes.length !== SIGNATURE_BYTES) throw new SignatureError(`a signature is ${SIGNATURE_BYTES} bytes`);
  const v = bytes[COMPACT_BYTES]! < V_OFFSET ? bytes[COMPACT_BYTES]! + V_OFFSET : bytes[COMPACT_BYTES]!;
  if (v !== V_OFFSET && v !== V_OFFSET + 1) throw new SignatureError("a signature's v is 27 or 28");
  const compact = bytes.subarray(0, COMPACT_BYTES);
  const s = BigInt(bytesToHex(compact.subarray(DIGEST_BYTES)));
  if (s > HALF_ORDER) throw new SignatureError("a signature's s is in the lower half (no malleable copies)");
  return { compact, recovery: (v - V_OFFSET) as 0 | 1 };
}

const addressOfUncompressed = (key: Uint8Array): Hex =>
  bytesToHex(keccak_256(key.subarray(UNCOMPRESSED_PREFIX_BYTES)).subarray(-ADDRESS_BYTES));

/** The (lower-case) address that signed `digest`, under the rule; SignatureError if it does not recover. */
export function recoverSigner(digest: Hex, signature: Hex | Uint8Array): Hex {
  const { compact, recovery } = signatureParts(signature);
  let key: Uint8Array | null = null;
  try {
    key = ecc.recover(hexToBytes(digest), compact, recovery, false);
  } catch {
    // r or s out of range: no key.
  }
  if (!key) throw new SignatureError("the signature recovers no key");
  return addressOfUncompressed(key);
}

/** Whether `address` signed `digest` under the rule (a malformed signature: no). */
export function signedBy(digest: Hex, signature: Hex | Uint8Array, address: string): boolean {
  try {
    return recoverSigner(digest, signature) === address.toLowerCase();
  } catch (error) {
    if (error instanceof SignatureError) return false;
    throw error;
  }
}

/** Addresses of the keys seen last (a pinned signer's, every time it signs): decompressing costs ~0.1 ms. */
const addresses = new Map<string, Hex>();
const MAX_CACHED_ADDRESSES = 256;

/** The address of a compressed public key; SignatureError if it is not a point of the curve. */
export function addressOfKey(compressedKey: Uint8Array): Hex {
  if (compressedKey.length !== COMPRESSED_KEY_BYTES) throw new SignatureError("not a compressed public key");
  const id = bytesToHex(compressedKey);
  const cached = addresses.get(id);
  if (cached) return cached;
  if (!ecc.isPoint(compressedKey)) throw new SignatureError("not a compressed secp256k1 public key");
  const address = addressOfUncompressed(ecc.pointCompress(compressedKey, false));
  if (addresses.size >= MAX_CACHED_ADDRESSES) addresses.clear();
  addresses.set(id, address);
  return address;
}

/** Whether the holder of `compressedKey` signed `digest`, under the rule. */
export function verifiedWithKey(
  digest: Hex,
  signature: Hex | Uint8Array,
  compressedKey: Uint8Array,
): boolean {
  let compact: Uint8Array;
  try {
    ({ compact } = signatureParts(signature));
  } catch (error) {
    if (error instanceof SignatureError) return false;
    throw error;
  }
  try {
    return ecc.verify(hexToBytes(digest), compressedKey, compact, true);
  } catch {
    return false; // r or s out of range
  }
}
