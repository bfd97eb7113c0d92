// The quote-level signatures and the QE binding (Intel SGX ECDSA Quote Library API, A.4):
//   PCK key signs the QE report; QE report data = SHA-256(attestation key || QE auth data) || 32 zeros;
//   attestation key signs header || body. Intel encodes ECDSA signatures as raw r || s.
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { VerificationError } from "../verdict.js";
import { isAllZero, sameBytes } from "./bytes.js";
import { QE_REPORT_DATA_HASH_SIZE } from "./layout.js";
import type { Certificate } from "./pki.js";
import type { ParsedQuote } from "./quote.js";

/** DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point (id-ecPublicKey, prime256v1). */
const P256_SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");
const UNCOMPRESSED_POINT = 0x04;
const RAW_SIGNATURE = "ieee-p1363";

export function verifyRawP256(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify("sha256", data, { key, dsaEncoding: RAW_SIGNATURE }, signature);
  } catch {
    return false;
  }
}

/** A signature by a certificate's key over `data` (TCB info, QE identity, QE report). */
export function verifySignedBy(
  cert: Certificate,
  data: Uint8Array,
  signature: Uint8Array,
  label: string,
): void {
  if (!verifyRawP256(cert.node.publicKey, data, signature)) {
    throw new VerificationError(`${label}: signature invalid`);
  }
}

export function verifyQeReport(quote: ParsedQuote, pck: Certificate): void {
  verifySignedBy(pck, quote.qeReport, quote.qeReportSignature, "QE report");
  const expected = createHash("sha256").update(quote.attestationKey).update(quote.qeAuthData).digest();
  const reportData = quote.qeReportBody.reportData;
  if (
    !sameBytes(reportData.subarray(0, QE_REPORT_DATA_HASH_SIZE), expected) ||
    !isAllZero(reportData.subarray(QE_REPORT_DATA_HASH_SIZE))
  ) {
    throw new VerificationError("QE report does not bind the attestation key");
  }
}

export function verifyQuoteSignature(quote: ParsedQuote): void {
  let key: KeyObject;
  try {
    const spki = Buffer.concat([P256_SPKI_PREFIX, Buffer.of(UNCOMPRESSED_POINT), quote.attestationKey]);
    key = createPublicKey({ key: spki, format: "der", type: "spki" });
  } catch (error) {
    throw new VerificationError("quote: attestation key is not a P-256 point", { cause: error });
  }
  if (!verifyRawP256(key, quote.signedBytes, quote.signature)) {
    throw new VerificationError("quote: signature invalid");
  }
}
