// The "ANONIFY-SIM-QUOTE" v1 evidence format of the simulated platform: the shape of an SGX quote
// (identity, attributes, report data, a signature by a quoting key, that key's certificate chain),
// labelled SIMULATED in its header and with the debug attribute always set.
//
//   offset  size  field
//   header
//        0    17  magic "ANONIFY-SIM-QUOTE"
//       17     2  format version, u16 big-endian (1)
//       19     9  platform tag "SIMULATED"
//   body
//       28    32  measurement
//       60    32  signer measurement
//       92     8  attributes, u64 big-endian; DEBUG (bit 1, as in SGX) always set, other bits zero
//      100    64  report data
//      164     8  timestamp, u64 big-endian, ms since the Unix epoch
//   signature
//      172    64  ECDSA P-256 / SHA-256 over bytes 0..172, r || s (WebCrypto's raw form)
//   certificate chain, leaf (quoting key) first, root last
//      236     1  certificate count (2..4)
//      237        per certificate: u16 big-endian length, then that many bytes of DER
// Nothing may follow the last certificate.
import { VerificationError } from "./verdict.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export const SIM_QUOTE_MAGIC = ascii("ANONIFY-SIM-QUOTE");
export const SIM_QUOTE_VERSION = 1;
export const SIM_QUOTE_PLATFORM_TAG = ascii("SIMULATED");

export const SIM_MEASUREMENT_BYTES = 32;
export const SIM_REPORT_DATA_BYTES = 64;
export const SIM_SIGNATURE_BYTES = 64;
/** Same bit as SGX's ATTRIBUTES.FLAGS.DEBUG: a simulated enclave is never more trustworthy than a debug one. */
export const SIM_ATTRIBUTE_DEBUG = 1n << 1n;
/** The only attribute value a v1 sim quote may carry. */
export const SIM_ATTRIBUTES = SIM_ATTRIBUTE_DEBUG;
export const SIM_MIN_CERTIFICATES = 2;
export const SIM_MAX_CERTIFICATES = 4;
/** Largest timestamp a JS Date can hold (ms). */
const MAX_TIMESTAMP_MS = 8_640_000_000_000_000;

export const SIM_OFFSET_MAGIC = 0;
export const SIM_OFFSET_VERSION = SIM_OFFSET_MAGIC + SIM_QUOTE_MAGIC.length;
export const SIM_OFFSET_PLATFORM_TAG = SIM_OFFSET_VERSION + 2;
export const SIM_OFFSET_BODY = SIM_OFFSET_PLATFORM_TAG + SIM_QUOTE_PLATFORM_TAG.length;
export const SIM_OFFSET_MEASUREMENT = SIM_OFFSET_BODY;
export const SIM_OFFSET_SIGNER_MEASUREMENT = SIM_OFFSET_MEASUREMENT + SIM_MEASUREMENT_BYTES;
export const SIM_OFFSET_ATTRIBUTES = SIM_OFFSET_SIGNER_MEASUREMENT + SIM_MEASUREMENT_BYTES;
export const SIM_OFFSET_REPORT_DATA = SIM_OFFSET_ATTRIBUTES + 8;
export const SIM_OFFSET_TIMESTAMP = SIM_OFFSET_REPORT_DATA + SIM_REPORT_DATA_BYTES;
/** End of header || body: the bytes the quoting key signs. */
export const SIM_SIGNED_BYTES = SIM_OFFSET_TIMESTAMP + 8;
export const SIM_OFFSET_SIGNATURE = SIM_SIGNED_BYTES;
export const SIM_OFFSET_CERT_COUNT = SIM_OFFSET_SIGNATURE + SIM_SIGNATURE_BYTES;
export const SIM_OFFSET_CERTS = SIM_OFFSET_CERT_COUNT + 1;
const CERT_LENGTH_BYTES = 2;
const MAX_CERT_BYTES = 0xffff;

/** What the enclave asserts; the encoder adds header and attributes. */
export type SimQuoteBody = {
  measurement: Uint8Array;
  signerMeasurement: Uint8Array;
  reportData: Uint8Array;
  timestampMs: number;
};

export type SimQuote = SimQuoteBody & {
  /** r || s, 64 bytes. */
  signature: Uint8Array;
  /** DER, quoting-key certificate first, root last. */
  certificates: Uint8Array[];
};

export type DecodedSimQuote = SimQuote & {
  attributes: bigint;
  /** The header || body bytes the signature covers (a view into the input). */
  signedBytes: Uint8Array;
};

/** header || body, ready to be signed by the quoting key. Throws TypeError on a malformed body (caller bug). */
export function simQuoteSignedBytes(body: SimQuoteBody): Uint8Array {
  expectLength("measurement", body.measurement, SIM_MEASUREMENT_BYTES);
  expectLength("signer measurement", body.signerMeasurement, SIM_MEASUREMENT_BYTES);
  expectLength("report data", body.reportData, SIM_REPORT_DATA_BYTES);
  if (
    !Number.isSafeInteger(body.timestampMs) ||
    body.timestampMs < 0 ||
    body.timestampMs > MAX_TIMESTAMP_MS
  ) {
    throw new TypeError("sim quote timestamp must be a non-negative integer number of ms");
  }
  const out = new Uint8Array(SIM_SIGNED_BYTES);
  const view = new DataView(out.buffer);
  out.set(SIM_QUOTE_MAGIC, SIM_OFFSET_MAGIC);
  view.setUint16(SIM_OFFSET_VERSION, SIM_QUOTE_VERSION);
  out.set(SIM_QUOTE_PLATFORM_TAG, SIM_OFFSET_PLATFORM_TAG);
  out.set(body.measurement, SIM_OFFSET_MEASUREMENT);
  out.set(body.signerMeasurement, SIM_OFFSET_SIGNER_MEASUREMENT);
  view.setBigUint64(SIM_OFFSET_ATTRIBUTES, SIM_ATTRIBUTES);
  out.set(body.reportData, SIM_OFFSET_REPORT_DATA);
  view.setBigUint64(SIM_OFFSET_TIMESTAMP, BigInt(body.timestampMs));
  return out;
}

export function encodeSimQuote(quote: SimQuote): Uint8Array {
  const signed = simQuoteSignedBytes(quote);
  expectLength("signature", quote.signature, SIM_SIGNATURE_BYTES);
  const n = quote.certificates.length;
  if (n < SIM_MIN_CERTIFICATES || n > SIM_MAX_CERTIFICATES) {
    throw new TypeError(`sim quote needs ${SIM_MIN_CERTIFICATES}..${SIM_MAX_CERTIFICATES} certificates`);
  }
  let size = SIM_OFFSET_CERTS;
  for (const der of quote.certificates) {
    if (der.length === 0 || der.length > MAX_CERT_BYTES) throw new TypeError("certificate size out of range");
    size += CERT_LENGTH_BYTES + der.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(signed, 0);
  out.set(quote.signature, SIM_OFFSET_SIGNATURE);
  out[SIM_OFFSET_CERT_COUNT] = n;
  let at = SIM_OFFSET_CERTS;
  for (const der of quote.certificates) {
    view.setUint16(at, der.length);
    out.set(der, at + CERT_LENGTH_BYTES);
    at += CERT_LENGTH_BYTES + der.length;
  }
  return out;
}

/** Parses (does not verify) a sim quote. Every malformed input is a VerificationError. */
export function decodeSimQuote(bytes: Uint8Array): DecodedSimQuote {
  if (!(bytes instanceof Uint8Array)) throw new VerificationError("evidence is not a byte array");
  if (bytes.length < SIM_OFFSET_MAGIC + SIM_QUOTE_MAGIC.length)
    throw new VerificationError("truncated quote");
  if (!equalAt(bytes, SIM_OFFSET_MAGIC, SIM_QUOTE_MAGIC))
    throw new VerificationError("not a simulated quote");
  if (bytes.length < SIM_OFFSET_CERTS) throw new VerificationError("truncated quote");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const version = view.getUint16(SIM_OFFSET_VERSION);
  if (version !== SIM_QUOTE_VERSION)
    throw new VerificationError(`unsupported simulated quote version ${version}`);
  if (!equalAt(bytes, SIM_OFFSET_PLATFORM_TAG, SIM_QUOTE_PLATFORM_TAG)) {
    throw new VerificationError("not a simulated quote (platform tag is not SIMULATED)");
  }
  const attributes = view.getBigUint64(SIM_OFFSET_ATTRIBUTES);
  if ((attributes & SIM_ATTRIBUTE_DEBUG) === 0n) {
    throw new VerificationError("simulated quote without the debug attribute");
  }
  if (attributes !== SIM_ATTRIBUTES)
    throw new VerificationError("simulated quote has unknown attribute bits set");
  const timestamp = view.getBigUint64(SIM_OFFSET_TIMESTAMP);
  if (timestamp > BigInt(MAX_TIMESTAMP_MS)) throw new VerificationError("quote timestamp out of range");

  const count = view.getUint8(SIM_OFFSET_CERT_COUNT);
  if (count < SIM_MIN_CERTIFICATES || count > SIM_MAX_CERTIFICATES) {
    throw new VerificationError(`certificate chain has ${count} certificates`);
  }
  const certificates: Uint8Array[] = [];
  let at = SIM_OFFSET_CERTS;
  for (let i = 0; i < count; i++) {
    if (at + CERT_LENGTH_BYTES > bytes.length) throw new VerificationError("truncated quote");
    const length = view.getUint16(at);
    at += CERT_LENGTH_BYTES;
    if (length === 0) throw new VerificationError(`empty certificate at chain position ${i}`);
    if (at + length > bytes.length) throw new VerificationError("truncated quote");
    certificates.push(bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.length) throw new VerificationError("trailing bytes after the certificate chain");

  return {
    measurement: bytes.subarray(SIM_OFFSET_MEASUREMENT, SIM_OFFSET_SIGNER_MEASUREMENT),
    signerMeasurement: bytes.subarray(SIM_OFFSET_SIGNER_MEASUREMENT, SIM_OFFSET_ATTRIBUTES),
    attributes,
    reportData: bytes.subarray(SIM_OFFSET_REPORT_DATA, SIM_OFFSET_TIMESTAMP),
    timestampMs: Number(timestamp),
    signedBytes: bytes.subarray(0, SIM_SIGNED_BYTES),
    signature: bytes.subarray(SIM_OFFSET_SIGNATURE, SIM_OFFSET_CERT_COUNT),
    certificates,
  };
}

function expectLength(what: string, value: Uint8Array, length: number): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new TypeError(`sim quote ${what} must be ${length} bytes`);
  }
}

function equalAt(bytes: Uint8Array, offset: number, expected: Uint8Array): boolean {
  if (offset + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[offset + i] !== expected[i]) return false;
  return true;
}
