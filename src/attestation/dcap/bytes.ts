// Small byte helpers shared by the DCAP and Nitro verifiers; portable (no Buffer), so the same code
// runs in Node, in the enclave and in the browser.
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

/** Lowercase hex, no 0x: the format of every measurement in a Verdict. */
export const toHex = (bytes: Uint8Array): string => bytesToHex(bytes);

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

/** Strict hex decoding: undefined for anything but pairs of hex digits. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (!HEX_PATTERN.test(hex)) return undefined;
  return hexToBytes(hex);
}

/** Characters per String.fromCharCode call: well under every engine's argument limit. */
const CHARS_PER_CALL = 8192;

/** One character per byte (ISO 8859-1); TextDecoder's "latin1" is windows-1252, which is not. */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    text += String.fromCharCode(...bytes.subarray(i, i + CHARS_PER_CALL));
  }
  return text;
}

/** The bytes of a string of characters 0..255 (what `atob` returns); the inverse of `latin1`. */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
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
