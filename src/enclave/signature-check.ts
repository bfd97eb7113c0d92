// The one place the enclave checks a user's signature over a command or query. The message carries
// the signer's compressed public key, so the enclave verifies (r, s) against that key and derives the
// address from it instead of recovering the key from the signature: the same signatures are accepted
// (low s, over the same digest).
//
// The primitive is libsecp256k1 (Bitcoin Core's library) compiled to WebAssembly (tiny-secp256k1):
// measured here at ~3,800 verifications per second per core, against ~640 for @noble/curves, and
// Node's OpenSSL cannot verify an EIP-712 signature (it has no Keccak-256 and always hashes the
// message itself). libsecp256k1 refuses high-s signatures, so a malleable copy never verifies.
//
// Each enclave keeps its own caches (in its context, never in module scope): a signature verified
// when a command arrives is not verified again when its batch is applied on that enclave, and every
// other enclave, in its own process or beside it in one test process, verifies it itself. Its
// signature workers (signature-pool.ts) fill the same cache ahead of a batch, under the same key over
// the exact bytes (`remember`): what a worker vouched for covers those bytes and nothing else.
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes } from "@noble/hashes/utils.js";
import * as ecc from "tiny-secp256k1";
import { type Address, bytesToHex } from "viem";
import { COMPACT_SIGNATURE_BYTES, SIGNER_KEY_BYTES } from "../protocol/wire.js";
import { CommandRejected } from "./signed-messages.js";

const DIGEST_BYTES = 32;
const ADDRESS_OFFSET_IN_HASH = 12;

/** Successful verifications remembered, keyed by sha256(digest ‖ signature ‖ key). */
export const MAX_VERIFIED_SIGNATURES = 16_384;
/** Signer keys whose address is remembered. */
export const MAX_KNOWN_SIGNERS = 4096;

/** `checked`: verifications this thread ran itself (not found in the cache). */
export type SignatureCacheStats = { verified: number; signers: number; checked: number };

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
}

/** The cache key of a verification: a hash over the exact bytes checked. */
function cacheKeyOf(digest: Uint8Array, signature: Uint8Array, signerKey: Uint8Array): string {
  if (digest.length !== DIGEST_BYTES || signature.length !== COMPACT_SIGNATURE_BYTES) {
    throw new CommandRejected("bad_signature", "signature must be 64 bytes over a 32-byte digest");
  }
  return bytesToHex(sha256(concatBytes(digest, signature, signerKey)));
}

/** One enclave's signature checks, with what it verified before. */
export class SignatureCheck {
  private readonly verified = new Map<string, Address>();
  private readonly signers = new Map<string, Address>();
  private checked = 0;

  /** How much the caches hold, and how many checks ran here (for tests and benchmarks). */
  get stats(): SignatureCacheStats {
    return { verified: this.verified.size, signers: this.signers.size, checked: this.checked };
  }

  /**
   * Checks `signature` (64 bytes r ‖ s, low s) over the 32-byte EIP-712 `digest` against `signerKey`
   * (33-byte compressed secp256k1 key) and returns the signer's lower-case address; throws
   * `CommandRejected("bad_signature")` otherwise. Swap the primitive here and only here.
   */
  verify(digest: Uint8Array, signature: Uint8Array, signerKey: Uint8Array): Address {
    const cacheKey = cacheKeyOf(digest, signature, signerKey);
    const known = this.verified.get(cacheKey);
    if (known !== undefined) return known;
    const address = this.addressOf(signerKey);
    this.checked++;
    let valid: boolean;
    try {
      valid = ecc.verify(digest, signerKey, signature, true);
    } catch {
      valid = false; // an out-of-range r or s
    }
    if (!valid)
      throw new CommandRejected("bad_signature", "signature does not match the signer key and message");
    remember(this.verified, cacheKey, address, MAX_VERIFIED_SIGNATURES);
    return address;
  }

  /**
   * Remembers a verification one of this enclave's signature workers ran (the same `verify`, in a
   * thread of this process): `verify` then finds it under the key of exactly these bytes.
   */
  remember(digest: Uint8Array, signature: Uint8Array, signerKey: Uint8Array): void {
    remember(
      this.verified,
      cacheKeyOf(digest, signature, signerKey),
      this.addressOf(signerKey),
      MAX_VERIFIED_SIGNATURES,
    );
  }

  private addressOf(signerKey: Uint8Array): Address {
    const id = bytesToHex(signerKey);
    const known = this.signers.get(id);
    if (known !== undefined) return known;
    const uncompressed =
      signerKey.length === SIGNER_KEY_BYTES && ecc.isPoint(signerKey)
        ? ecc.pointCompress(signerKey, false)
        : null;
    if (!uncompressed)
      throw new CommandRejected("bad_signature", "signer key is not a compressed secp256k1 point");
    const address = bytesToHex(
      keccak_256(uncompressed.subarray(1)).subarray(ADDRESS_OFFSET_IN_HASH),
    ) as Address;
    remember(this.signers, id, address, MAX_KNOWN_SIGNERS);
    return address;
  }
}
