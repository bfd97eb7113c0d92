// Padding to size buckets: the one scheme for everything whose length the host or the chain sees —
// each command slot of a batch (src/protocol/batch.ts) and the plaintext of every HPKE envelope
// (src/protocol/envelope.ts: commands, queries, receipts, query answers). Messages whose sizes fall
// in one bucket are indistinguishable by length. The padding always sits inside the AEAD plaintext,
// so it is authenticated.
//
// A padded item (big-endian):
//    0    length    4   n, the content's length in bytes
//    4    content   n
//    4+n  zeros         up to the item's size: the smallest of PADDING_BUCKETS ≥ 4 + n and ≥ the
//                       user's floor (batch slots: 256; envelopes: 512, see envelope.ts)
// Decoding is strict: the length must fit the limit the caller gives, the item must be exactly the
// smallest bucket (at or above the floor) that holds it, and every padding byte must be zero — one
// encoding per content.
// The format is versioned by whatever carries it (the batch format, the envelope version).

/** Bucket sizes in bytes, length prefix included. */
export const PADDING_BUCKETS = [256, 512, 1024, 4096, 16384, 65536, 262144, 1048576] as const;
export const LENGTH_PREFIX_BYTES = 4;
export const LARGEST_BUCKET = PADDING_BUCKETS[PADDING_BUCKETS.length - 1]!;
/** The largest content any bucket holds. */
export const MAX_PADDED_CONTENT_BYTES = LARGEST_BUCKET - LENGTH_PREFIX_BYTES;

export type PaddingErrorCode = "too_large" | "malformed" | "bad_padding";

export class PaddingError extends Error {
  override name = "PaddingError";
  constructor(
    readonly code: PaddingErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const SMALLEST_BUCKET = PADDING_BUCKETS[0];

/**
 * The padded size of a content of `length` bytes (prefix included): the smallest bucket of at least
 * `floor` bytes that holds it, or undefined if none does.
 */
export function paddedSize(length: number, floor: number = SMALLEST_BUCKET): number | undefined {
  return PADDING_BUCKETS.find((size) => size >= floor && size >= LENGTH_PREFIX_BYTES + length);
}

/** Writes `content` padded at `out[at..]` (which must be zeros: a fresh array) and returns the padded size. */
export function writePadded(
  out: Uint8Array,
  at: number,
  content: Uint8Array,
  floor: number = SMALLEST_BUCKET,
): number {
  const size = paddedSize(content.length, floor);
  if (size === undefined) throw new PaddingError("too_large", `${content.length} bytes fit no bucket`);
  if (at + size > out.length) throw new PaddingError("too_large", "no room for the padded item");
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, content.length);
  out.set(content, at + LENGTH_PREFIX_BYTES);
  return size;
}

/** `content` padded to its bucket (the smallest of at least `floor` bytes that holds it). */
export function pad(content: Uint8Array, floor: number = SMALLEST_BUCKET): Uint8Array {
  const size = paddedSize(content.length, floor);
  if (size === undefined) throw new PaddingError("too_large", `${content.length} bytes fit no bucket`);
  const out = new Uint8Array(size); // zero-filled: the padding
  writePadded(out, 0, content, floor);
  return out;
}

/**
 * Reads the padded item at `bytes[at..]` (padded with the same `floor`) strictly: its content (a copy) and its padded size. Throws
 * `PaddingError`: `malformed` (truncated, a length over `maxLength`, an item not its smallest
 * bucket), `bad_padding` (a non-zero padding byte).
 */
export function readPadded(
  bytes: Uint8Array,
  at: number,
  maxLength: number = MAX_PADDED_CONTENT_BYTES,
  floor: number = SMALLEST_BUCKET,
): { content: Uint8Array; size: number } {
  if (at + LENGTH_PREFIX_BYTES > bytes.length)
    throw new PaddingError("malformed", "padded item is truncated");
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
  const size = length <= maxLength ? paddedSize(length, floor) : undefined;
  if (size === undefined) throw new PaddingError("malformed", `padded item claims ${length} bytes`);
  if (at + size > bytes.length) throw new PaddingError("malformed", "padded item is truncated");
  const end = at + LENGTH_PREFIX_BYTES + length;
  for (let j = end; j < at + size; j++) {
    if (bytes[j] !== 0) throw new PaddingError("bad_padding", "padding is not zeros");
  }
  return { content: bytes.slice(at + LENGTH_PREFIX_BYTES, end), size };
}

/** Reads `bytes` as exactly one padded item (no trailing bytes); see `readPadded`. */
export function unpad(
  bytes: Uint8Array,
  maxLength: number = MAX_PADDED_CONTENT_BYTES,
  floor: number = SMALLEST_BUCKET,
): Uint8Array {
  const { content, size } = readPadded(bytes, 0, maxLength, floor);
  if (size !== bytes.length) throw new PaddingError("malformed", "padded item has trailing bytes");
  return content;
}
