// HPKE (RFC 9180), base mode, single shot, for one suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM. X25519 runs on the platform's native code (x25519.ts: node:crypto, else WebCrypto);
// HKDF and AES-GCM are @noble's, synchronous. Measured by `npm run bench -- command-crypto`, where
// the generic @hpke/core path took ~1.3 ms to seal; hpke.test.ts checks both directions against
// @hpke/core, on each X25519 backend.
import { gcm } from "@noble/ciphers/aes.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  X25519_BYTES,
  type X25519Backend,
  type X25519Key,
  X25519KeyMismatch,
  x25519Native,
} from "./x25519.js";

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0001;
const MODE_BASE = 0x00;
/** Nsecret, Nenc/Npk, Nk, Nn of the suite (RFC 9180 §7). */
const SECRET_BYTES = 32;
const KEY_BYTES = 16;
const NONCE_BYTES = 12;
const text = (s: string) => new TextEncoder().encode(s);
const HPKE_V1 = text("HPKE-v1");
const KEM_SUITE = concat(text("KEM"), i2osp(KEM_ID, 2));
const HPKE_SUITE_ID = concat(text("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));

export class HpkeError extends Error {
  override name = "HpkeError";
}

function i2osp(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v >>>= 8) out[i] = v & 0xff;
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concat(HPKE_V1, suite, text(label), ikm), salt);
}

function labeledExpand(
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return expand(sha256, prk, concat(i2osp(length, 2), HPKE_V1, suite, text(label), info), length);
}

/** ExtractAndExpand of DHKEM (RFC 9180 §4.1), refusing the all-zero output of a low-order point. */
function kemSharedSecret(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (dh.every((b) => b === 0)) throw new HpkeError("X25519 produced the all-zero value (low-order key)");
  const prk = labeledExtract(KEM_SUITE, new Uint8Array(), "eae_prk", dh);
  return labeledExpand(KEM_SUITE, prk, "shared_secret", concat(enc, recipientPublicKey), SECRET_BYTES);
}

/** KeySchedule for mode_base with no PSK (RFC 9180 §5.1): the AEAD key and base nonce. */
function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const none = new Uint8Array();
  const pskIdHash = labeledExtract(HPKE_SUITE_ID, none, "psk_id_hash", none);
  const infoHash = labeledExtract(HPKE_SUITE_ID, none, "info_hash", info);
  const context = concat(i2osp(MODE_BASE, 1), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, "secret", none);
  return {
    key: labeledExpand(HPKE_SUITE_ID, secret, "key", context, KEY_BYTES),
    nonce: labeledExpand(HPKE_SUITE_ID, secret, "base_nonce", context, NONCE_BYTES),
  };
}

async function deriveX25519(
  backend: X25519Backend,
  key: X25519Key,
  publicKey: Uint8Array,
): Promise<Uint8Array> {
  try {
    return await backend.derive(key, publicKey);
  } catch {
    throw new HpkeError("X25519 key agreement failed (invalid or low-order key)");
  }
}

/** Encrypts `plaintext` to `recipientPublicKey` (32 raw bytes); returns the encapsulated key and ciphertext. */
export async function hpkeSeal(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  backend: X25519Backend = x25519Native,
): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  if (recipientPublicKey.length !== X25519_BYTES) throw new HpkeError("X25519 public key must be 32 bytes");
  const ephemeral = await backend.generate();
  const enc = ephemeral.publicKey;
  const dh = await deriveX25519(backend, ephemeral, recipientPublicKey);
  const { key, nonce } = keySchedule(kemSharedSecret(dh, enc, recipientPublicKey), info);
  return { enc, ciphertext: gcm(key, nonce).encrypt(plaintext) };
}

/** A recipient key imported once (with the backend that holds it): an enclave opens many envelopes with one key. */
export type HpkeRecipient = X25519Key & { backend: X25519Backend };

/** Imports a recipient's private key; with its public half, the import is cheaper and the pair is checked. */
export async function hpkeRecipient(
  privateKey: Uint8Array,
  publicKey?: Uint8Array,
  backend: X25519Backend = x25519Native,
): Promise<HpkeRecipient> {
  if (privateKey.length !== X25519_BYTES) throw new HpkeError("X25519 private key must be 32 bytes");
  if (publicKey && publicKey.length !== X25519_BYTES)
    throw new HpkeError("X25519 public key must be 32 bytes");
  try {
    return { ...(await backend.importPrivate(privateKey, publicKey)), backend };
  } catch (error) {
    if (error instanceof X25519KeyMismatch) throw new HpkeError(error.message);
    throw new HpkeError("X25519 private key could not be imported");
  }
}

/** A fresh key pair, raw bytes for the wire and the imported key for opening (no second import). */
export async function hpkeGenerateKeyPair(backend: X25519Backend = x25519Native): Promise<{
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  recipient: HpkeRecipient;
}> {
  const { privateKey, ...key } = await backend.generate();
  return { privateKey, publicKey: key.publicKey, recipient: { ...key, backend } };
}

/** Decrypts; throws HpkeError for a wrong key, a tampered ciphertext, enc or info. */
export async function hpkeOpen(
  recipient: HpkeRecipient,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  if (enc.length !== X25519_BYTES) throw new HpkeError("encapsulated key must be 32 bytes");
  const dh = await deriveX25519(recipient.backend, recipient, enc);
  const { key, nonce } = keySchedule(kemSharedSecret(dh, enc, recipient.publicKey), info);
  try {
    return gcm(key, nonce).decrypt(ciphertext);
  } catch {
    throw new HpkeError("HPKE ciphertext does not open with this key and context");
  }
}
