// A member's sealed checkpoint as it crosses the boundary and lies on the host's disk: a sealed
// manifest and the sealed pieces it names (src/enclave/checkpoint-pieces.ts). The host reads this
// container (it holds no secret: sealed blobs and their hashes) to store each piece once, by hash,
// and hands the enclave a container holding every piece back at restore. Pure; shared by both sides.
//
// Layout (integers big-endian):
//   magic "ANFYCKPT" (8) | version (1) = 1
//   manifest length (4) | manifest (a sealed blob, src/enclave/sealing.ts)
//   piece count (4), then per piece, in the manifest's order:
//     SHA-256 of the piece's sealed bytes (32) | length (4) | the sealed bytes (length bytes; a
//     length of 0: not carried here, the host holds it from an earlier checkpoint)
// Decoding is strict: the magic and version, no trailing bytes, no piece named twice, and carried
// bytes must hash to the hash named beside them. The enclave trusts none of this: the manifest names
// each piece's hash inside its sealed plaintext, and a restore looks pieces up by those hashes only.
import type { Hex } from "viem";
import { HexError, hexOf, bytesOfHex as protocolBytesOfHex, sha256 } from "../protocol/bytes.js";

const MAGIC = new TextEncoder().encode("ANFYCKPT");
export const SEALED_CHECKPOINT_VERSION = 1;
const HASH_BYTES = 32;
const LENGTH_BYTES = 4;
/** More pieces than any state splits into (maps × buckets); bounds what a decoder allocates. */
export const MAX_CHECKPOINT_PIECES = 1 << 16;

export type CheckpointPiece = { hash: Hex; bytes: Uint8Array | undefined };
export type SealedCheckpoint = { manifest: Uint8Array; pieces: CheckpointPiece[] };

export class SealedCheckpointError extends Error {
  override name = "SealedCheckpointError";
}

/** Hex of large byte strings, through Buffer (src/protocol/bytes.ts). */
export { hexOf } from "../protocol/bytes.js";

/** Bytes of `0x`-prefixed hex; refuses anything else. */
export function bytesOfHex(hex: string): Uint8Array {
  try {
    return protocolBytesOfHex(hex);
  } catch (error) {
    if (error instanceof HexError) throw new SealedCheckpointError("not hex");
    throw error;
  }
}

export const pieceHash = (bytes: Uint8Array): Hex => hexOf(sha256(bytes));

export function encodeSealedCheckpoint({ manifest, pieces }: SealedCheckpoint): Uint8Array {
  const size =
    MAGIC.length +
    1 +
    LENGTH_BYTES +
    manifest.length +
    LENGTH_BYTES +
    pieces.reduce((n, p) => n + HASH_BYTES + LENGTH_BYTES + (p.bytes?.length ?? 0), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  let at = MAGIC.length;
  out[at++] = SEALED_CHECKPOINT_VERSION;
  view.setUint32(at, manifest.length);
  out.set(manifest, at + LENGTH_BYTES);
  at += LENGTH_BYTES + manifest.length;
  view.setUint32(at, pieces.length);
  at += LENGTH_BYTES;
  for (const piece of pieces) {
    out.set(bytesOfHex(piece.hash), at);
    view.setUint32(at + HASH_BYTES, piece.bytes?.length ?? 0);
    at += HASH_BYTES + LENGTH_BYTES;
    if (piece.bytes) out.set(piece.bytes, at);
    at += piece.bytes?.length ?? 0;
  }
  return out;
}

export function decodeSealedCheckpoint(bytes: Uint8Array): SealedCheckpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new SealedCheckpointError("sealed checkpoint is truncated");
    const part = bytes.subarray(at, at + n);
    at += n;
    return part;
  };
  const length = (): number => {
    take(LENGTH_BYTES);
    return view.getUint32(at - LENGTH_BYTES);
  };
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new SealedCheckpointError("not a sealed checkpoint");
  take(MAGIC.length);
  const version = take(1)[0];
  if (version !== SEALED_CHECKPOINT_VERSION)
    throw new SealedCheckpointError(`unknown sealed checkpoint version ${version}`);
  const manifest = take(length());
  const count = length();
  if (count > MAX_CHECKPOINT_PIECES) throw new SealedCheckpointError("too many pieces");
  const pieces: CheckpointPiece[] = [];
  const seen = new Set<Hex>();
  for (let i = 0; i < count; i++) {
    const hash = hexOf(take(HASH_BYTES));
    const size = length();
    const carried = size === 0 ? undefined : take(size);
    if (seen.has(hash)) throw new SealedCheckpointError("a piece is named twice");
    seen.add(hash);
    if (carried && pieceHash(carried) !== hash)
      throw new SealedCheckpointError("a piece does not hash to its name");
    pieces.push({ hash, bytes: carried });
  }
  if (at !== bytes.length) throw new SealedCheckpointError("trailing bytes after the sealed checkpoint");
  return { manifest, pieces };
}
