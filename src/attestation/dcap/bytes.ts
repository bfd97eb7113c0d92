// Small byte helpers shared by the DCAP and Nitro verifiers.

/** Lowercase hex, no 0x: the format of every measurement in a Verdict. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;

/** Strict hex decoding (Buffer.from(..., "hex") silently stops at the first bad digit). */
export function fromHex(hex: string): Uint8Array | undefined {
  if (!HEX_PATTERN.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** Little-endian reads with bounds checks; `undefined` means "ran off the end". */
export function readU16LE(bytes: Uint8Array, offset: number): number | undefined {
  if (offset < 0 || offset + 2 > bytes.length) return undefined;
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

export function readU32LE(bytes: Uint8Array, offset: number): number | undefined {
  if (offset < 0 || offset + 4 > bytes.length) return undefined;
  // `>>> 0` keeps the top bit from turning the value negative.
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>>
    0
  );
}
