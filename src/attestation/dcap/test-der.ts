// Test-only: the few DER encodings the test PKI writes itself (Intel's SGX extension in a PCK
// certificate, which @peculiar/x509 carries as opaque bytes). One TLV is tag (1 byte) || length
// (short form below 0x80, else 0x80 | n and n big-endian bytes) || contents; der.ts reads them back.
import { Tag } from "./der.js";

const LONG_LENGTH_FLAG = 0x80;
const SHORT_LENGTH_MAX = 0x7f;
const BYTE = 0x100;
const OID_FIRST_ARC_FACTOR = 40;
const BASE128 = 0x80;
const BASE128_MASK = 0x7f;
/** A DER INTEGER is signed: a first byte with its top bit set needs a zero byte before it. */
const SIGN_BIT = 0x80;

export function tlv(tag: number, contents: Uint8Array): Uint8Array {
  const length: number[] = [];
  if (contents.length <= SHORT_LENGTH_MAX) length.push(contents.length);
  else {
    for (let n = contents.length; n > 0; n = Math.floor(n / BYTE)) length.unshift(n % BYTE);
    length.unshift(LONG_LENGTH_FLAG | length.length);
  }
  const out = new Uint8Array(1 + length.length + contents.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(contents, 1 + length.length);
  return out;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

export const sequence = (...items: readonly Uint8Array[]): Uint8Array => tlv(Tag.sequence, concat(items));
export const octets = (bytes: Uint8Array): Uint8Array => tlv(Tag.octetString, bytes);

export function oid(dotted: string): Uint8Array {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [first! * OID_FIRST_ARC_FACTOR + second!];
  for (const arc of rest) {
    const digits = [arc & BASE128_MASK];
    for (let n = Math.floor(arc / BASE128); n > 0; n = Math.floor(n / BASE128))
      digits.unshift((n & BASE128_MASK) | BASE128);
    bytes.push(...digits);
  }
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/** A small non-negative INTEGER (or ENUMERATED, with its tag). */
export function integer(value: number, tag: number = Tag.integer): Uint8Array {
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / BYTE)) bytes.unshift(n % BYTE);
  if (bytes.length === 0 || bytes[0]! & SIGN_BIT) bytes.unshift(0);
  return tlv(tag, Uint8Array.from(bytes));
}
