// AMD's SEV-SNP CRLs as they travel on chain, beside Intel's collateral (`publishCollateral(record)` →
// `CollateralPublished`; src/protocol/collateral-record.ts is Intel's): the CRLs AMD's KDS serves for
// one product (`/vcek/v1/{product}/crl`, `/vlek/v1/{product}/crl`), each signed by that product's ARK.
// The contract does not read it; each enclave verifies it against the ARKs pinned in its build
// (src/attestation/sev-snp/published-crls.ts). A record's magic tells it from Intel's.
//
// Byte layout (big-endian, strict: every byte accounted for, nothing after the last CRL):
//
//   offset  size  field
//   0       8     magic "ANFYSCRL"
//   8       1     format (1; any other is refused)
//   9       1     count, 1 to MAX_SEV_SNP_CRLS
//   10      …     count × (u32 length | DER CRL), every length non-zero
import { CollateralRecordError, MAX_COLLATERAL_BYTES, writeLengthPrefixed } from "./collateral-record.js";

export const SEV_SNP_CRL_MAGIC = "ANFYSCRL";
export const SEV_SNP_CRL_FORMAT = 1;
/** AMD serves one CRL per product and key kind (VCEK, VLEK): two; a few more cost little. */
export const MAX_SEV_SNP_CRLS = 4;

const MAGIC_BYTES = 8;
const HEADER_BYTES = MAGIC_BYTES + 2;
const LENGTH_BYTES = 4;
const TEXT_ENCODER = new TextEncoder();

/** Whether `record` begins with this record's magic (else it is another kind, or none). */
export function isSevSnpCrlRecord(record: Uint8Array): boolean {
  return (
    record.length >= MAGIC_BYTES &&
    String.fromCharCode(...record.subarray(0, MAGIC_BYTES)) === SEV_SNP_CRL_MAGIC
  );
}

/** The record of one product's CRLs (DER each). */
export function encodeSevSnpCrlRecord(crls: readonly Uint8Array[]): Uint8Array {
  if (crls.length < 1 || crls.length > MAX_SEV_SNP_CRLS)
    throw new CollateralRecordError(
      `a SEV-SNP CRL set holds 1 to ${MAX_SEV_SNP_CRLS} CRLs, not ${crls.length}`,
    );
  if (crls.some((crl) => crl.length === 0)) throw new CollateralRecordError("a SEV-SNP CRL is empty");
  const size = HEADER_BYTES + crls.reduce((n, crl) => n + LENGTH_BYTES + crl.length, 0);
  if (size > MAX_COLLATERAL_BYTES)
    throw new CollateralRecordError(`SEV-SNP CRL record is ${size} bytes, over ${MAX_COLLATERAL_BYTES}`);
  const out = new Uint8Array(size);
  out.set(TEXT_ENCODER.encode(SEV_SNP_CRL_MAGIC), 0);
  out[MAGIC_BYTES] = SEV_SNP_CRL_FORMAT;
  out[MAGIC_BYTES + 1] = crls.length;
  writeLengthPrefixed(out, HEADER_BYTES, crls);
  return out;
}

/** The CRLs (DER) of a record, strictly. */
export function decodeSevSnpCrlRecord(record: Uint8Array): Uint8Array[] {
  if (record.length > MAX_COLLATERAL_BYTES)
    throw new CollateralRecordError(`SEV-SNP CRL record over ${MAX_COLLATERAL_BYTES} bytes`);
  if (!isSevSnpCrlRecord(record) || record.length < HEADER_BYTES)
    throw new CollateralRecordError("not a SEV-SNP CRL record (bad magic)");
  if (record[MAGIC_BYTES] !== SEV_SNP_CRL_FORMAT)
    throw new CollateralRecordError(
      `SEV-SNP CRL record format ${record[MAGIC_BYTES]} is not ${SEV_SNP_CRL_FORMAT}`,
    );
  const count = record[MAGIC_BYTES + 1]!;
  if (count < 1 || count > MAX_SEV_SNP_CRLS)
    throw new CollateralRecordError(`SEV-SNP CRL record holds ${count} CRLs, not 1 to ${MAX_SEV_SNP_CRLS}`);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const crls: Uint8Array[] = [];
  let offset = HEADER_BYTES;
  for (let i = 1; i <= count; i++) {
    if (offset + LENGTH_BYTES > record.length)
      throw new CollateralRecordError(`SEV-SNP CRL record truncated at CRL ${i}`);
    const length = view.getUint32(offset);
    offset += LENGTH_BYTES;
    if (length === 0) throw new CollateralRecordError(`SEV-SNP CRL record: CRL ${i} is empty`);
    if (offset + length > record.length)
      throw new CollateralRecordError(`SEV-SNP CRL record truncated in CRL ${i}`);
    crls.push(record.slice(offset, offset + length));
    offset += length;
  }
  if (offset !== record.length) throw new CollateralRecordError("SEV-SNP CRL record has trailing bytes");
  return crls;
}
