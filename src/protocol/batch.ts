// Batches: the unit the ledger orders. A batch carries the signed commands themselves (the canonical
// bytes of src/protocol/wire.ts), not just their params, so every enclave that applies it re-verifies
// each user's signature and nonce instead of trusting the enclave that built it.
//
// Plaintext v1 (big-endian):
//    0  format       1   BATCH_FORMAT
//    1  count        4   number of commands, 1..MAX_BATCH_COMMANDS
//    5  slots: per command, a padded item (src/protocol/padding.ts: a 4-byte length, the command,
//       then zeros up to the smallest bucket that holds them; commands are at most MAX_SIGNED_BYTES,
//       so only BATCH_BUCKETS occur), so commands whose sizes fall in one bucket are
//       indistinguishable by length (the host and the chain see only the ciphertext length).
//       Decoding checks the padding is zeros and that each slot is the smallest bucket that fits:
//       one plaintext per list of commands.
//
// Ciphertext v1:
//    0  version      1   BATCH_CIPHER_VERSION
//    1  nonce       24   random (XChaCha20-Poly1305: a random 192-bit nonce never repeats in practice)
//   25  ciphertext ‖ 16-byte tag
// key = HKDF-SHA256(epoch key, info = BATCH_KEY_INFO): the epoch key from the MLS exporter is not used
// directly, so other uses of it cannot collide with batches. AAD = BATCH_AAD_LABEL ‖ version ‖ chain
// id ‖ contract ‖ epoch: a batch opens only for its chain, contract and epoch.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { LedgerDomain } from "./digests.js";
import {
  LENGTH_PREFIX_BYTES,
  PADDING_BUCKETS,
  PaddingError,
  paddedSize,
  readPadded,
  writePadded,
} from "./padding.js";
import { ADDRESS_BYTES, CHAIN_ID_BYTES, MAX_SIGNED_BYTES, U64_MAX, writeDomain } from "./wire.js";

export const BATCH_FORMAT = 1;
export const BATCH_CIPHER_VERSION = 1;
export const SLOT_LENGTH_BYTES = LENGTH_PREFIX_BYTES;
const COUNT_BYTES = 4;
export const BATCH_HEADER_BYTES = 1 + COUNT_BYTES;
export const EPOCH_KEY_BYTES = 32;
export const BATCH_NONCE_BYTES = 24;
export const BATCH_TAG_BYTES = 16;
const EPOCH_BYTES = 8;
const OFFSET_NONCE = 1;
const OFFSET_CIPHERTEXT = OFFSET_NONCE + BATCH_NONCE_BYTES;
/** Most commands in one batch; the contract's `count` is a uint32, this is far below it on purpose. */
export const MAX_BATCH_COMMANDS = 1024;
/** Commands per batch unless the operator chooses otherwise; the size bench/results/e2e.md measures. */
export const DEFAULT_BATCH_COMMANDS = 64;
/** The most batches one enclave keeps in flight (each names its batch nonce, so they land in order). */
export const MAX_BATCHES_IN_FLIGHT = 8;
/** Largest batch plaintext: more would not fit in one transaction's calldata anyway. */
export const MAX_BATCH_PLAINTEXT_BYTES = 1024 * 1024;
export const MAX_BATCH_CIPHERTEXT_BYTES = OFFSET_CIPHERTEXT + MAX_BATCH_PLAINTEXT_BYTES + BATCH_TAG_BYTES;
const BATCH_KEY_INFO = new TextEncoder().encode("anonify.batch.key.v1");
const BATCH_AAD_LABEL = new TextEncoder().encode("anonify.batch.v1\0");

const LARGEST_SLOT = paddedSize(MAX_SIGNED_BYTES);
if (LARGEST_SLOT === undefined) throw new Error("a padding bucket must hold the largest signed command");
/** The slot sizes a batch uses (length prefix included): the padding buckets up to the largest command's. */
export const BATCH_BUCKETS: readonly number[] = PADDING_BUCKETS.filter((size) => size <= LARGEST_SLOT);

export type BatchErrorCode =
  | "empty"
  | "too_large"
  | "malformed"
  | "bad_padding"
  | "unsupported_version"
  | "undecryptable";

export class BatchError extends Error {
  override name = "BatchError";
  constructor(
    readonly code: BatchErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The slot size for a command of `length` bytes, or undefined if it is over MAX_SIGNED_BYTES. */
export function bucketFor(length: number): number | undefined {
  return length <= MAX_SIGNED_BYTES ? paddedSize(length) : undefined;
}

/** Encodes signed commands (canonical bytes) into a padded batch plaintext. */
export function encodeBatch(commands: readonly Uint8Array[]): Uint8Array {
  if (commands.length === 0) throw new BatchError("empty", "a batch holds at least one command");
  if (commands.length > MAX_BATCH_COMMANDS) {
    throw new BatchError("too_large", `a batch holds at most ${MAX_BATCH_COMMANDS} commands`);
  }
  const slots = commands.map((command) => {
    const size = bucketFor(command.length);
    if (size === undefined)
      throw new BatchError("too_large", `a command of ${command.length} bytes fits no bucket`);
    return size;
  });
  const total = slots.reduce((sum, size) => sum + size, BATCH_HEADER_BYTES);
  if (total > MAX_BATCH_PLAINTEXT_BYTES) {
    throw new BatchError(
      "too_large",
      `batch plaintext would be ${total} bytes, over ${MAX_BATCH_PLAINTEXT_BYTES}`,
    );
  }
  const out = new Uint8Array(total); // zero-filled: the padding
  out[0] = BATCH_FORMAT;
  new DataView(out.buffer).setUint32(1, commands.length);
  let at = BATCH_HEADER_BYTES;
  for (const command of commands) at += writePadded(out, at, command);
  return out;
}

/** Decodes a batch plaintext strictly; each returned command still has to be verified. */
export function decodeBatch(plaintext: Uint8Array): Uint8Array[] {
  if (plaintext.length > MAX_BATCH_PLAINTEXT_BYTES)
    throw new BatchError("too_large", "batch plaintext is too large");
  if (plaintext.length < BATCH_HEADER_BYTES) throw new BatchError("malformed", "batch is truncated");
  if (plaintext[0] !== BATCH_FORMAT) {
    throw new BatchError("unsupported_version", `batch format ${plaintext[0]} is not ${BATCH_FORMAT}`);
  }
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  const count = view.getUint32(1);
  if (count === 0) throw new BatchError("empty", "batch holds no command");
  if (count > MAX_BATCH_COMMANDS) throw new BatchError("too_large", `batch claims ${count} commands`);
  const commands: Uint8Array[] = [];
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    try {
      const { content, size } = readPadded(plaintext, at, MAX_SIGNED_BYTES);
      commands.push(content);
      at += size;
    } catch (error) {
      if (!(error instanceof PaddingError)) throw error;
      throw new BatchError(error.code, `slot ${i}: ${error.reason}`);
    }
  }
  if (at !== plaintext.length) throw new BatchError("malformed", "batch has trailing bytes");
  return commands;
}

function batchKey(epochKey: Uint8Array): Uint8Array {
  if (epochKey.length !== EPOCH_KEY_BYTES)
    throw new BatchError("malformed", `epoch key must be ${EPOCH_KEY_BYTES} bytes`);
  return hkdf(sha256, epochKey, undefined, BATCH_KEY_INFO, EPOCH_KEY_BYTES);
}

function batchAad(domain: LedgerDomain, epoch: bigint): Uint8Array {
  if (epoch < 0n || epoch > U64_MAX) throw new BatchError("malformed", "epoch must fit in 64 bits");
  const out = new Uint8Array(BATCH_AAD_LABEL.length + 1 + CHAIN_ID_BYTES + ADDRESS_BYTES + EPOCH_BYTES);
  let at = 0;
  out.set(BATCH_AAD_LABEL, at);
  at += BATCH_AAD_LABEL.length;
  out[at] = BATCH_CIPHER_VERSION;
  at += 1;
  writeDomain(out, at, domain);
  at += CHAIN_ID_BYTES + ADDRESS_BYTES;
  new DataView(out.buffer).setBigUint64(at, epoch);
  return out;
}

export type SealBatchParameters = {
  /** The group's epoch key (32 bytes, from the MLS exporter). */
  epochKey: Uint8Array;
  epoch: bigint;
  domain: LedgerDomain;
  plaintext: Uint8Array;
};

export function sealBatch({ epochKey, epoch, domain, plaintext }: SealBatchParameters): Uint8Array {
  if (plaintext.length > MAX_BATCH_PLAINTEXT_BYTES)
    throw new BatchError("too_large", "batch plaintext is too large");
  const nonce = randomBytes(BATCH_NONCE_BYTES);
  const sealed = xchacha20poly1305(batchKey(epochKey), nonce, batchAad(domain, epoch)).encrypt(plaintext);
  const out = new Uint8Array(OFFSET_CIPHERTEXT + sealed.length);
  out[0] = BATCH_CIPHER_VERSION;
  out.set(nonce, OFFSET_NONCE);
  out.set(sealed, OFFSET_CIPHERTEXT);
  return out;
}

export type OpenBatchParameters = Omit<SealBatchParameters, "plaintext"> & { ciphertext: Uint8Array };

/** Opens a batch sealed for this chain, contract and epoch; `undecryptable` for anything else. */
export function openBatch({ epochKey, epoch, domain, ciphertext }: OpenBatchParameters): Uint8Array {
  if (ciphertext.length > MAX_BATCH_CIPHERTEXT_BYTES)
    throw new BatchError("too_large", "batch ciphertext is too large");
  if (ciphertext.length < OFFSET_CIPHERTEXT + BATCH_TAG_BYTES)
    throw new BatchError("malformed", "batch is truncated");
  if (ciphertext[0] !== BATCH_CIPHER_VERSION) {
    throw new BatchError("unsupported_version", `batch cipher version ${ciphertext[0]}`);
  }
  const cipher = xchacha20poly1305(
    batchKey(epochKey),
    ciphertext.subarray(OFFSET_NONCE, OFFSET_CIPHERTEXT),
    batchAad(domain, epoch),
  );
  try {
    return cipher.decrypt(ciphertext.subarray(OFFSET_CIPHERTEXT));
  } catch {
    throw new BatchError("undecryptable", "batch does not open under this epoch key, epoch and domain");
  }
}
