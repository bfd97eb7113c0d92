// Intel PCS collateral as it travels on chain (`publishCollateral(record)` → `CollateralPublished`),
// so that every enclave judges SGX and TDX quotes against the same collateral. The contract does not
// read it; each enclave verifies it against the Intel root pinned in its build
// (src/attestation/dcap/published-collateral.ts). Binary, not the PCS JSON, because the CRLs would
// double as hex and every byte costs calldata gas.
//
// Byte layout (big-endian, strict: every byte accounted for, nothing after the last field):
//
//   offset  size  field
//   0       8     magic "ANFYCOLL"
//   8       1     format (1; any other is refused)
//   9       …     nine fields in this order, each `u32 length | body`, every body non-empty:
//                   1 PCK CRL issuer chain   PEM text (ASCII), leaf first
//                   2 root CA CRL            DER
//                   3 PCK CRL                DER
//                   4 TCB info issuer chain  PEM text
//                   5 TCB info               the exact JSON text Intel signed (UTF-8)
//                   6 TCB info signature     64 bytes, r ‖ s
//                   7 QE identity issuer chain PEM text
//                   8 QE identity            the exact JSON text Intel signed
//                   9 QE identity signature  64 bytes, r ‖ s
//
// Decoded, it is the PCS JSON shape the DCAP verifier takes (`parseCollateral`), binary fields as hex.
import { bytesToHex, hexToBytes } from "viem";

export const COLLATERAL_MAGIC = "ANFYCOLL";
export const COLLATERAL_FORMAT = 1;
/** A PCS collateral set is ~10 KB; bounds what an enclave parses from a host-fed event. */
export const MAX_COLLATERAL_BYTES = 64 * 1024;

const MAGIC_BYTES = 8;
const HEADER_BYTES = MAGIC_BYTES + 1;
const LENGTH_BYTES = 4;
/** Intel's signatures over PCS bodies: ECDSA P-256, r ‖ s. */
const P256_SIGNATURE_BYTES = 64;

/** The PCS JSON field of each body, in layout order, and whether it is text or bytes. */
const FIELDS = [
  ["pck_crl_issuer_chain", "text"],
  ["root_ca_crl", "bytes"],
  ["pck_crl", "bytes"],
  ["tcb_info_issuer_chain", "text"],
  ["tcb_info", "text"],
  ["tcb_info_signature", "bytes"],
  ["qe_identity_issuer_chain", "text"],
  ["qe_identity", "text"],
  ["qe_identity_signature", "bytes"],
] as const;

type FieldName = (typeof FIELDS)[number][0];
/** PCS JSON: text fields as strings, binary fields as hex without `0x`. */
export type PcsCollateral = Record<FieldName, string>;

export class CollateralRecordError extends Error {
  override name = "CollateralRecordError";
}

const TEXT_ENCODER = new TextEncoder();
const TEXT_DECODER = new TextDecoder("utf-8", { fatal: true });

/** The body bytes of one PCS field: text as UTF-8, binary from hex (with or without `0x`) or a byte array. */
function fieldBytes(input: Record<string, unknown>, name: FieldName, kind: "text" | "bytes"): Uint8Array {
  const value = input[name];
  if (kind === "text") {
    if (typeof value !== "string" || value.length === 0)
      throw new CollateralRecordError(`collateral: ${name} missing`);
    return TEXT_ENCODER.encode(value);
  }
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff))
    return Uint8Array.from(value as number[]);
  if (typeof value === "string" && /^(0x)?([0-9a-fA-F]{2})+$/.test(value))
    return hexToBytes(value.startsWith("0x") ? (value as `0x${string}`) : `0x${value}`);
  throw new CollateralRecordError(`collateral: ${name} is not hex or bytes`);
}

/** The record of a PCS collateral object (as Intel's PCS, a PCCS or @phala/dcap-qvl's fetcher give it). */
export function encodeCollateralRecord(collateral: unknown): Uint8Array {
  if (collateral === null || typeof collateral !== "object" || Array.isArray(collateral))
    throw new CollateralRecordError("collateral: not a JSON object");
  const bodies = FIELDS.map(([name, kind]) => fieldBytes(collateral as Record<string, unknown>, name, kind));
  const size = HEADER_BYTES + bodies.reduce((n, b) => n + LENGTH_BYTES + b.length, 0);
  if (size > MAX_COLLATERAL_BYTES)
    throw new CollateralRecordError(`collateral record is ${size} bytes, over ${MAX_COLLATERAL_BYTES}`);
  const out = new Uint8Array(size);
  out.set(TEXT_ENCODER.encode(COLLATERAL_MAGIC), 0);
  out[MAGIC_BYTES] = COLLATERAL_FORMAT;
  writeLengthPrefixed(out, HEADER_BYTES, bodies);
  return out;
}

/** Writes each body as `u32 length | body` into `out` from `offset` (sized for them by the caller). */
export function writeLengthPrefixed(out: Uint8Array, offset: number, bodies: readonly Uint8Array[]): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = offset;
  for (const body of bodies) {
    view.setUint32(at, body.length);
    out.set(body, at + LENGTH_BYTES);
    at += LENGTH_BYTES + body.length;
  }
}

export function decodeCollateralRecord(record: Uint8Array): PcsCollateral {
  if (record.length > MAX_COLLATERAL_BYTES)
    throw new CollateralRecordError(`collateral record over ${MAX_COLLATERAL_BYTES} bytes`);
  if (
    record.length < HEADER_BYTES ||
    TEXT_DECODER.decode(record.subarray(0, MAGIC_BYTES)) !== COLLATERAL_MAGIC
  )
    throw new CollateralRecordError("not a collateral record (bad magic)");
  if (record[MAGIC_BYTES] !== COLLATERAL_FORMAT)
    throw new CollateralRecordError(
      `collateral record format ${record[MAGIC_BYTES]} is not ${COLLATERAL_FORMAT}`,
    );
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  let offset = HEADER_BYTES;
  const out: Partial<PcsCollateral> = {};
  for (const [name, kind] of FIELDS) {
    if (offset + LENGTH_BYTES > record.length)
      throw new CollateralRecordError(`collateral record truncated at ${name}`);
    const length = view.getUint32(offset);
    offset += LENGTH_BYTES;
    if (length === 0) throw new CollateralRecordError(`collateral record: ${name} is empty`);
    if (offset + length > record.length)
      throw new CollateralRecordError(`collateral record truncated in ${name}`);
    const body = record.subarray(offset, offset + length);
    offset += length;
    if (name.endsWith("_signature") && length !== P256_SIGNATURE_BYTES)
      throw new CollateralRecordError(`collateral record: ${name} is not ${P256_SIGNATURE_BYTES} bytes`);
    try {
      out[name] = kind === "text" ? TEXT_DECODER.decode(body) : bytesToHex(body).slice(2);
    } catch {
      throw new CollateralRecordError(`collateral record: ${name} is not UTF-8`);
    }
  }
  if (offset !== record.length) throw new CollateralRecordError("collateral record has trailing bytes");
  return out as PcsCollateral;
}
