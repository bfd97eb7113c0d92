// Sealing: encrypting enclave state so only the same enclave (or the same signer's enclaves) on the
// same platform can read it back. The blob says how it was sealed, so unseal needs no side channel.
//
// Blob format v1 (all fixed-size fields, big-endian where it matters):
//   0  magic "ANFYSEAL"           8
//   8  format version (1)         1
//   9  policy code                1   SEAL_POLICY_CODE
//  10  bound identity            32   measurement or signer measurement (public anyway)
//  42  nonce                     24   XChaCha20-Poly1305
//  66  ciphertext || tag (16)
// Bytes 0..66 (the header) are the AEAD associated data, so none of them can be changed unnoticed.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  assertEnclaveIdentity,
  type EnclaveIdentity,
  IDENTITY_BYTES,
  policyIdentity,
  SEAL_POLICY_CODE,
  SEALING_KEY_BYTES,
  type SealPolicy,
  type TeePlatform,
} from "./platform.js";

export const SEAL_MAGIC = new TextEncoder().encode("ANFYSEAL");
export const SEAL_FORMAT_VERSION = 1;
export const SEAL_NONCE_BYTES = 24;
export const SEAL_TAG_BYTES = 16;

export const SEAL_OFFSET_MAGIC = 0;
export const SEAL_OFFSET_VERSION = SEAL_OFFSET_MAGIC + SEAL_MAGIC.length;
export const SEAL_OFFSET_POLICY = SEAL_OFFSET_VERSION + 1;
export const SEAL_OFFSET_IDENTITY = SEAL_OFFSET_POLICY + 1;
export const SEAL_OFFSET_NONCE = SEAL_OFFSET_IDENTITY + IDENTITY_BYTES;
export const SEAL_OFFSET_CIPHERTEXT = SEAL_OFFSET_NONCE + SEAL_NONCE_BYTES;
export const SEAL_HEADER_BYTES = SEAL_OFFSET_CIPHERTEXT;
export const SEAL_MIN_BLOB_BYTES = SEAL_HEADER_BYTES + SEAL_TAG_BYTES;

/** HKDF info prefix for the per-label key; the 0 byte ends the prefix so labels cannot collide with it. */
const LABEL_KDF_INFO = new TextEncoder().encode("anonify.seal.label.v1\0");

export type SealingFailure =
  | "invalid-label"
  | "truncated"
  | "bad-magic"
  | "unknown-version"
  | "unknown-policy"
  | "other-measurement"
  | "other-signer"
  | "tampered";

/** A refused seal or unseal. `reason` is human-readable; neither it nor the error carries plaintext. */
export class SealingError extends Error {
  override name = "SealingError";
  constructor(
    readonly code: SealingFailure,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export type SealOptions = {
  policy?: SealPolicy;
  /** What the blob is for (e.g. "identity", "group-state"); a blob only opens under the same label. */
  label: string;
};

export async function seal(
  platform: TeePlatform,
  identity: EnclaveIdentity,
  plaintext: Uint8Array,
  { policy = "measurement", label }: SealOptions,
): Promise<Uint8Array> {
  assertEnclaveIdentity(identity);
  const labelBytes = encodeLabel(label);
  const blob = new Uint8Array(SEAL_HEADER_BYTES + plaintext.length + SEAL_TAG_BYTES);
  blob.set(SEAL_MAGIC, SEAL_OFFSET_MAGIC);
  blob[SEAL_OFFSET_VERSION] = SEAL_FORMAT_VERSION;
  blob[SEAL_OFFSET_POLICY] = SEAL_POLICY_CODE[policy];
  blob.set(policyIdentity(policy, identity), SEAL_OFFSET_IDENTITY);
  blob.set(randomBytes(SEAL_NONCE_BYTES), SEAL_OFFSET_NONCE);
  const header = blob.subarray(0, SEAL_HEADER_BYTES);
  const nonce = blob.subarray(SEAL_OFFSET_NONCE, SEAL_OFFSET_CIPHERTEXT);

  const key = await labelKey(platform, policy, identity, labelBytes);
  try {
    blob.set(xchacha20poly1305(key, nonce, header).encrypt(plaintext), SEAL_OFFSET_CIPHERTEXT);
  } finally {
    key.fill(0);
  }
  return blob;
}

export type UnsealOptions = { label: string };

export async function unseal(
  platform: TeePlatform,
  identity: EnclaveIdentity,
  blob: Uint8Array,
  { label }: UnsealOptions,
): Promise<Uint8Array> {
  assertEnclaveIdentity(identity);
  const labelBytes = encodeLabel(label);
  if (blob.length < SEAL_MIN_BLOB_BYTES) {
    throw new SealingError("truncated", `truncated sealed blob (${blob.length} bytes)`);
  }
  if (!startsWith(blob, SEAL_MAGIC)) throw new SealingError("bad-magic", "not a sealed blob (bad magic)");
  const version = blob[SEAL_OFFSET_VERSION];
  if (version !== SEAL_FORMAT_VERSION) {
    throw new SealingError("unknown-version", `unknown sealed blob format version ${version}`);
  }
  const policy = decodePolicy(blob[SEAL_OFFSET_POLICY]);
  const bound = blob.subarray(SEAL_OFFSET_IDENTITY, SEAL_OFFSET_NONCE);
  if (!sameBytes(bound, policyIdentity(policy, identity))) {
    throw policy === "measurement"
      ? new SealingError("other-measurement", "sealed by another enclave measurement")
      : new SealingError("other-signer", "sealed by another enclave signer");
  }
  const header = blob.subarray(0, SEAL_HEADER_BYTES);
  const nonce = blob.subarray(SEAL_OFFSET_NONCE, SEAL_OFFSET_CIPHERTEXT);
  const ciphertext = blob.subarray(SEAL_OFFSET_CIPHERTEXT);

  const key = await labelKey(platform, policy, identity, labelBytes);
  try {
    return xchacha20poly1305(key, nonce, header).decrypt(ciphertext);
  } catch {
    // The AEAD cannot tell these apart, so the reason names all of them.
    throw new SealingError(
      "tampered",
      "sealed blob failed authentication (tampered, or sealed under another label or platform secret)",
    );
  } finally {
    key.fill(0);
  }
}

/** The platform's policy key narrowed to one label, so blobs for different purposes never share a key. */
async function labelKey(
  platform: TeePlatform,
  policy: SealPolicy,
  identity: EnclaveIdentity,
  labelBytes: Uint8Array,
): Promise<Uint8Array> {
  const policyKey = await platform.sealingKey(policy, identity);
  try {
    const info = new Uint8Array(LABEL_KDF_INFO.length + labelBytes.length);
    info.set(LABEL_KDF_INFO, 0);
    info.set(labelBytes, LABEL_KDF_INFO.length);
    return hkdf(sha256, policyKey, undefined, info, SEALING_KEY_BYTES);
  } finally {
    policyKey.fill(0);
  }
}

function encodeLabel(label: string): Uint8Array {
  if (typeof label !== "string" || label.length === 0) {
    throw new SealingError("invalid-label", "seal label must be a non-empty string");
  }
  return new TextEncoder().encode(label);
}

function decodePolicy(code: number | undefined): SealPolicy {
  if (code === SEAL_POLICY_CODE.measurement) return "measurement";
  if (code === SEAL_POLICY_CODE.signer) return "signer";
  throw new SealingError("unknown-policy", `unknown seal policy code ${code}`);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && sameBytes(bytes.subarray(0, prefix.length), prefix);
}

/** Plain comparison: everything compared here (magic, public measurements) is public. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
