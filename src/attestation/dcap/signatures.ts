// The quote-level signatures and the QE binding (Intel SGX ECDSA Quote Library API, A.4):
//   PCK key signs the QE report; QE report data = SHA-256(attestation key || QE auth data) || 32 zeros;
//   attestation key signs header || body. Intel encodes ECDSA signatures as raw r || s and the
//   attestation key as raw X || Y (P-256).
import { sha256 } from "@noble/hashes/sha2.js";
import { VerificationError } from "../verdict.js";
import { isAllZero, sameBytes } from "./bytes.js";
import { type EcPublicKey, rawP256Key, verifyEcdsa } from "./ecdsa.js";
import { QE_REPORT_DATA_HASH_SIZE } from "./layout.js";
import type { Certificate } from "./pki.js";
import type { ParsedQuote } from "./quote.js";

/** A signature by a certificate's key over `data` (TCB info, QE identity, QE report). */
export function verifySignedBy(
  cert: Certificate,
  data: Uint8Array,
  signature: Uint8Array,
  label: string,
): void {
  if (!verifyEcdsa(cert.publicKey, "sha256", data, signature, "raw")) {
    throw new VerificationError(`${label}: signature invalid`);
  }
}

export function verifyQeReport(quote: ParsedQuote, pck: Certificate): void {
  verifySignedBy(pck, quote.qeReport, quote.qeReportSignature, "QE report");
  const expected = sha256.create().update(quote.attestationKey).update(quote.qeAuthData).digest();
  const reportData = quote.qeReportBody.reportData;
  if (
    !sameBytes(reportData.subarray(0, QE_REPORT_DATA_HASH_SIZE), expected) ||
    !isAllZero(reportData.subarray(QE_REPORT_DATA_HASH_SIZE))
  ) {
    throw new VerificationError("QE report does not bind the attestation key");
  }
}

export function verifyQuoteSignature(quote: ParsedQuote): void {
  let key: EcPublicKey;
  try {
    key = rawP256Key(quote.attestationKey);
  } catch (error) {
    throw new VerificationError("quote: attestation key is not a P-256 point", { cause: error });
  }
  if (!verifyEcdsa(key, "sha256", quote.signedBytes, quote.signature, "raw")) {
    throw new VerificationError("quote: signature invalid");
  }
}
