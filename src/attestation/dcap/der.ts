// A minimal DER reader: just enough ASN.1 to read certificates, public keys and CRLs. Portable (no
// Buffer, no node:crypto) and synchronous; @peculiar/x509 cannot load without a reflect-metadata
// polyfill and verifies only asynchronously, so the few fields we need are read here.
//
// Every value is one TLV: tag (1 byte; high tag numbers, 0x1f, are refused) || length || contents.
// The length is one byte below 0x80 (short form), or 0x80 | n followed by n big-endian bytes, n in
// 1..4 (long form; n = 0, BER's indefinite length, is refused). A constructed value's contents are
// its children, which must fill it exactly.
import { latin1, toHex } from "./bytes.js";

/** Universal tags used by X.509. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific constructed tags [0]..[3] (explicit version, extensions, ...). */
export const contextTag = (n: number): number => CONTEXT_CONSTRUCTED | n;
const CONTEXT_CONSTRUCTED = 0xa0;

const HIGH_TAG_NUMBER_MASK = 0x1f;
const LONG_LENGTH_FLAG = 0x80;
const LONG_LENGTH_COUNT_MASK = 0x7f;
/** Four length octets address 4 GiB, far beyond any certificate or CRL we accept. */
const MAX_LENGTH_OCTETS = 4;
const BITS_PER_BYTE = 8;

/** Thrown on malformed DER; callers turn it into a VerificationError with their own context. */
export class DerError extends Error {
  override name = "DerError";
}

/** One TLV: `bytes` is the whole encoding, `value` its contents. */
export type Tlv = { tag: number; bytes: Uint8Array; value: Uint8Array };

/** Reads one TLV at `offset`; returns it and the offset just after it. */
export function readTlv(buf: Uint8Array, offset: number): { tlv: Tlv; next: number } {
  const tag = buf[offset];
  if (tag === undefined) throw new DerError("truncated DER (tag)");
  if ((tag & HIGH_TAG_NUMBER_MASK) === HIGH_TAG_NUMBER_MASK) {
    throw new DerError("high tag numbers unsupported");
  }
  const first = buf[offset + 1];
  if (first === undefined) throw new DerError("truncated DER (length)");
  let length = first;
  let header = 2;
  if (first & LONG_LENGTH_FLAG) {
    const count = first & LONG_LENGTH_COUNT_MASK;
    // count 0 is BER's indefinite length, which DER forbids.
    if (count === 0 || count > MAX_LENGTH_OCTETS) throw new DerError("unsupported DER length form");
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = buf[offset + 2 + i];
      if (b === undefined) throw new DerError("truncated DER (length)");
      length = length * 256 + b;
    }
    header += count;
  }
  const start = offset + header;
  const end = start + length;
  if (end > buf.length) throw new DerError("DER length runs past the end");
  return { tlv: { tag, bytes: buf.subarray(offset, end), value: buf.subarray(start, end) }, next: end };
}

/** Parses `buf` as exactly one TLV with the expected tag (no trailing bytes). */
export function readSingle(buf: Uint8Array, tag: number): Tlv {
  const { tlv, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError("trailing bytes after DER value");
  return expectTag(tlv, tag);
}

export function expectTag(tlv: Tlv | undefined, tag: number): Tlv {
  if (tlv === undefined) throw new DerError("missing DER element");
  if (tlv.tag !== tag) throw new DerError(`unexpected DER tag 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The children of a constructed value; they must fill it exactly. */
export function children(tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < tlv.value.length) {
    const { tlv: child, next } = readTlv(tlv.value, offset);
    out.push(child);
    offset = next;
  }
  return out;
}

/** Dotted OID string. */
export function readOid(tlv: Tlv): string {
  expectTag(tlv, Tag.oid);
  const bytes = tlv.value;
  if (bytes.length === 0) throw new DerError("empty OID");
  const arcs: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError("OID arc too large");
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if ((bytes[bytes.length - 1]! & 0x80) !== 0) throw new DerError("truncated OID");
  const first = arcs.shift()!;
  // The first byte packs the first two arcs as 40 * a + b (a in 0..2).
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - 40 * a, ...arcs].join(".");
}

/** An INTEGER's magnitude as uppercase hex without leading zeros: how serials are compared. */
export function readIntegerHex(tlv: Tlv): string {
  expectTag(tlv, Tag.integer);
  if (tlv.value.length === 0) throw new DerError("empty INTEGER");
  const hex = toHex(tlv.value).replace(/^(?:00)+/, "");
  return (hex === "" ? "00" : hex).toUpperCase();
}

/** A small non-negative INTEGER (path lengths, versions). */
export function readSmallInteger(tlv: Tlv): number {
  expectTag(tlv, Tag.integer);
  const bytes = tlv.value;
  if (bytes.length === 0 || bytes.length > 4 || (bytes[0]! & 0x80) !== 0) {
    throw new DerError("INTEGER out of range");
  }
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

export function readBoolean(tlv: Tlv): boolean {
  expectTag(tlv, Tag.boolean);
  if (tlv.value.length !== 1) throw new DerError("malformed BOOLEAN");
  return tlv.value[0] !== 0;
}

/** BIT STRING contents; `unusedBits` is the count of padding bits in the last byte. */
export function readBitString(tlv: Tlv): { bytes: Uint8Array; unusedBits: number } {
  expectTag(tlv, Tag.bitString);
  const unusedBits = tlv.value[0];
  if (unusedBits === undefined || unusedBits >= BITS_PER_BYTE) throw new DerError("malformed BIT STRING");
  return { bytes: tlv.value.subarray(1), unusedBits };
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
/** RFC 5280: UTCTime years 50..99 are 19xx, 00..49 are 20xx. */
const UTC_TIME_PIVOT = 50;

/** UTCTime or GeneralizedTime, in the Z-terminated forms RFC 5280 mandates. */
export function readTime(tlv: Tlv | undefined): Date {
  if (tlv === undefined) throw new DerError("missing time");
  const text = latin1(tlv.value);
  const pattern =
    tlv.tag === Tag.utcTime ? UTC_TIME : tlv.tag === Tag.generalizedTime ? GENERALIZED_TIME : undefined;
  const parts = pattern?.exec(text);
  if (!parts) throw new DerError("malformed time");
  const digits = Number(parts[1]);
  const year =
    pattern === GENERALIZED_TIME ? digits : digits < UTC_TIME_PIVOT ? 2000 + digits : 1900 + digits;
  const [month, day, hour, minute, second] = parts.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC rolls over out-of-range fields (month 13, day 32) and maps years 0..99 to 19xx;
  // a round trip catches both.
  if (
    Number.isNaN(ms) ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new DerError("invalid calendar time");
  }
  return date;
}
