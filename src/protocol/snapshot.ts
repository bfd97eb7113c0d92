// State snapshots for joining enclaves (flow 6): the replicated ledger at one chain position, sealed
// under a key only the group's members of one epoch can derive, served by any node's host as opaque
// bytes and committed on chain by hash (`commitSnapshot`). Pure: no I/O; the enclave seals and opens,
// the host only hashes and moves the bytes.
//
// Bytes v2 (big-endian):
//     0  version        1   SNAPSHOT_VERSION
//     1  chain id       8   the ledger's domain (src/protocol/wire.ts `writeDomain`)
//     9  contract      20
//    29  slot           8   the handshake slot whose commit added the joiner(s)
//    37  seq            8   that handshake's position in the contract's event sequence (event-chain.ts)
//    45  head          32   the event hash chain's head there
//    77  sequence       8   commands ordered before that handshake (the contract's commandCount then)
//    85  batches        8   batches ordered before it
//    93  nonce         24   synthetic (below)
//   117  ciphertext ‖ 16-byte tag (XChaCha20-Poly1305) of the padded plaintext
// Bytes 0..93 are the header: in clear (all of it is public on chain), and the AEAD's associated
// data, so a snapshot opens only for its chain, contract and position.
//
// Plaintext: a 4-byte length n, then n bytes of the payload (the caller's canonical encoding,
// src/app/canonical.ts), then zeros up to the Padmé size of 4 + n (Nikitin et al., PETS 2019: at most
// ~12% overhead; the length leaks O(log log n) bits instead of the exact size of the state).
//
// Keys: the caller hands a 32-byte secret (the MLS exporter of the epoch the snapshot is for, see
// src/enclave/ledger-snapshot.ts); the cipher key and the nonce key are derived from it with HKDF.
// The nonce is the first 24 bytes of HMAC-SHA256(nonce key, header ‖ plaintext): sealing is
// deterministic (SIV-style), so every member that seals the same state at the same position under
// the same epoch produces the same bytes, and any of them can serve the bytes whose hash one of them
// committed. A key is derived per slot and encrypts one plaintext per header; two different
// plaintexts get different nonces, so a member whose state diverged cannot cause a nonce reuse.
//
// The hash that names a snapshot (committed on chain, the file name hosts keep it under, what a
// joiner checks fetched bytes against) is SHA-256 of its bytes: megabytes are hashed four times on
// a join's path, and keccak-256 in JavaScript took ~0.3 s per 7 MB here against SHA-256's ~0.06 s
// (the host's node:crypto, ~5 ms; the same function).
//
// Decoding is strict: the version, the length, the header's fields, the tag, the nonce (it must be
// the synthetic one: one byte string per snapshot), the padding (zeros, exactly the Padmé size).
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { LedgerDomain } from "./digests.js";
import { ADDRESS_BYTES, CHAIN_ID_BYTES, readDomain, U64_MAX, WireError, writeDomain } from "./wire.js";

export const SNAPSHOT_VERSION = 2;

/** The name of a snapshot's bytes: SHA-256 (above), 0x-hex. */
export const snapshotHash = (bytes: Uint8Array): Hex => bytesToHex(sha256(bytes));
export const SNAPSHOT_KEY_BYTES = 32;
const U64_BYTES = 8;
const HASH_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const LENGTH_BYTES = 4;
const OFFSET_DOMAIN = 1;
const OFFSET_SLOT = OFFSET_DOMAIN + CHAIN_ID_BYTES + ADDRESS_BYTES;
const OFFSET_SEQ = OFFSET_SLOT + U64_BYTES;
const OFFSET_HEAD = OFFSET_SEQ + U64_BYTES;
const OFFSET_SEQUENCE = OFFSET_HEAD + HASH_BYTES;
const OFFSET_BATCHES = OFFSET_SEQUENCE + U64_BYTES;
export const SNAPSHOT_HEADER_BYTES = OFFSET_BATCHES + U64_BYTES;
const OFFSET_NONCE = SNAPSHOT_HEADER_BYTES;
const OFFSET_CIPHERTEXT = OFFSET_NONCE + NONCE_BYTES;
/** The largest snapshot accepted anywhere (enclave, host, API): ~1 million erc20 holders. */
export const MAX_SNAPSHOT_BYTES = 128 * 1024 * 1024;
const MAX_PLAINTEXT_BYTES = MAX_SNAPSHOT_BYTES - OFFSET_CIPHERTEXT - TAG_BYTES;
const ENCRYPTION_INFO = new TextEncoder().encode("anonify.snapshot.encryption.v1");
const NONCE_INFO = new TextEncoder().encode("anonify.snapshot.nonce.v1");

/** Where in the chain a snapshot stands; every field is public (the contract's counters and events). */
export type SnapshotHeader = {
  domain: LedgerDomain;
  slot: bigint;
  seq: bigint;
  head: Hex;
  sequence: bigint;
  batches: bigint;
};

export type SnapshotErrorCode = "malformed" | "too_large" | "unsupported_version" | "undecryptable";

export class SnapshotError extends Error {
  override name = "SnapshotError";
  constructor(
    readonly code: SnapshotErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Padmé: `length` rounded up so that only its top ~log2(log2(length)) bits remain free. */
export function padme(length: number): number {
  if (length < 2) return length;
  const exponent = Math.floor(Math.log2(length));
  const lastBits = exponent - (Math.floor(Math.log2(exponent)) + 1);
  const step = 2 ** lastBits;
  return Math.ceil(length / step) * step;
}

function u64(value: bigint, what: string): bigint {
  if (value < 0n || value > U64_MAX) throw new SnapshotError("malformed", `${what} must fit in 64 bits`);
  return value;
}

export function encodeSnapshotHeader(header: SnapshotHeader): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = SNAPSHOT_VERSION;
  try {
    writeDomain(out, OFFSET_DOMAIN, header.domain);
  } catch (error) {
    if (error instanceof WireError) throw new SnapshotError("malformed", error.reason);
    throw error;
  }
  view.setBigUint64(OFFSET_SLOT, u64(header.slot, "slot"));
  view.setBigUint64(OFFSET_SEQ, u64(header.seq, "seq"));
  const head = hexToBytes(header.head);
  if (head.length !== HASH_BYTES) throw new SnapshotError("malformed", "head must be 32 bytes");
  out.set(head, OFFSET_HEAD);
  view.setBigUint64(OFFSET_SEQUENCE, u64(header.sequence, "sequence"));
  view.setBigUint64(OFFSET_BATCHES, u64(header.batches, "batches"));
  return out;
}

/** The header of a snapshot, read strictly (the ciphertext is only checked for its minimum length). */
export function readSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (bytes.length > MAX_SNAPSHOT_BYTES) throw new SnapshotError("too_large", "snapshot is too large");
  if (bytes.length < OFFSET_CIPHERTEXT + TAG_BYTES + LENGTH_BYTES)
    throw new SnapshotError("malformed", "snapshot is truncated");
  if (bytes[0] !== SNAPSHOT_VERSION)
    throw new SnapshotError("unsupported_version", `snapshot version ${bytes[0]} is not ${SNAPSHOT_VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let domain: LedgerDomain;
  try {
    domain = readDomain(bytes, OFFSET_DOMAIN);
  } catch (error) {
    if (error instanceof WireError) throw new SnapshotError("malformed", error.reason);
    throw error;
  }
  return {
    domain,
    slot: view.getBigUint64(OFFSET_SLOT),
    seq: view.getBigUint64(OFFSET_SEQ),
    head: bytesToHex(bytes.subarray(OFFSET_HEAD, OFFSET_HEAD + HASH_BYTES)),
    sequence: view.getBigUint64(OFFSET_SEQUENCE),
    batches: view.getBigUint64(OFFSET_BATCHES),
  };
}

function keys(secret: Uint8Array): { encryption: Uint8Array; nonce: Uint8Array } {
  if (secret.length !== SNAPSHOT_KEY_BYTES)
    throw new SnapshotError("malformed", `snapshot key must be ${SNAPSHOT_KEY_BYTES} bytes`);
  return {
    encryption: hkdf(sha256, secret, undefined, ENCRYPTION_INFO, SNAPSHOT_KEY_BYTES),
    nonce: hkdf(sha256, secret, undefined, NONCE_INFO, SNAPSHOT_KEY_BYTES),
  };
}

function syntheticNonce(nonceKey: Uint8Array, header: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const mac = hmac.create(sha256, nonceKey);
  mac.update(header);
  mac.update(plaintext);
  return mac.digest().subarray(0, NONCE_BYTES);
}

/** Seals `payload` for the position `header` names; the same inputs always give the same bytes. */
export function sealSnapshot(secret: Uint8Array, header: SnapshotHeader, payload: Uint8Array): Uint8Array {
  const size = padme(LENGTH_BYTES + payload.length);
  if (size > MAX_PLAINTEXT_BYTES)
    throw new SnapshotError("too_large", `snapshot plaintext would be ${size} bytes`);
  const plaintext = new Uint8Array(size); // zero-filled: the padding
  new DataView(plaintext.buffer).setUint32(0, payload.length);
  plaintext.set(payload, LENGTH_BYTES);
  const head = encodeSnapshotHeader(header);
  const k = keys(secret);
  const nonce = syntheticNonce(k.nonce, head, plaintext);
  const sealed = xchacha20poly1305(k.encryption, nonce, head).encrypt(plaintext);
  plaintext.fill(0);
  const out = new Uint8Array(OFFSET_CIPHERTEXT + sealed.length);
  out.set(head, 0);
  out.set(nonce, OFFSET_NONCE);
  out.set(sealed, OFFSET_CIPHERTEXT);
  return out;
}

/** Opens a snapshot sealed under `secret`: its header and payload; `undecryptable` for any other key or byte. */
export function openSnapshot(
  secret: Uint8Array,
  bytes: Uint8Array,
): { header: SnapshotHeader; payload: Uint8Array } {
  const header = readSnapshotHeader(bytes);
  const head = bytes.subarray(0, SNAPSHOT_HEADER_BYTES);
  const nonce = bytes.subarray(OFFSET_NONCE, OFFSET_CIPHERTEXT);
  const k = keys(secret);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(k.encryption, nonce, head).decrypt(bytes.subarray(OFFSET_CIPHERTEXT));
  } catch {
    throw new SnapshotError("undecryptable", "snapshot does not open with this key, or was changed");
  }
  const expected = syntheticNonce(k.nonce, head, plaintext);
  if (!expected.every((b, i) => b === nonce[i]))
    throw new SnapshotError("malformed", "snapshot nonce is not its synthetic nonce");
  const length = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).getUint32(0);
  if (LENGTH_BYTES + length > plaintext.length || padme(LENGTH_BYTES + length) !== plaintext.length)
    throw new SnapshotError("malformed", "snapshot padding does not match its length");
  for (let i = LENGTH_BYTES + length; i < plaintext.length; i++)
    if (plaintext[i] !== 0) throw new SnapshotError("malformed", "snapshot padding is not zeros");
  return { header, payload: plaintext.subarray(LENGTH_BYTES, LENGTH_BYTES + length) };
}
