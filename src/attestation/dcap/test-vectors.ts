// Test-only: locates the shared real-hardware vectors (never copied into this repository).
// ANONIFY_VECTORS_DIR wins; otherwise ../shared/vectors next to the repository, as CI lays it out.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const VECTORS_DIR = process.env.ANONIFY_VECTORS_DIR ?? resolve(REPO_ROOT, "../shared/vectors");

/** `false` when the vectors are present, else the reason to hand to `test(..., { skip })`. */
export const vectorsSkip: string | false = existsSync(VECTORS_DIR)
  ? false
  : `attestation vectors not found at ${VECTORS_DIR} (set ANONIFY_VECTORS_DIR or check out ../shared)`;

export function readVectorBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(VECTORS_DIR, path)));
}

export function readVectorJson(path: string): unknown {
  return JSON.parse(readFileSync(resolve(VECTORS_DIR, path), "utf8"));
}

/** The Nitro vectors are stored base64; the verifier takes the raw COSE bytes. */
export function readVectorBase64(path: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(resolve(VECTORS_DIR, path), "utf8").trim(), "base64"));
}

/** A copy of `bytes` with the byte at `offset` XOR-ed with `mask` (non-zero, so it really changes). */
export function flipByte(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ mask;
  return copy;
}

/** Where a subarray returned by a parser sits in the evidence it was parsed from. */
export function offsetIn(evidence: Uint8Array, part: Uint8Array): number {
  return part.byteOffset - evidence.byteOffset;
}
