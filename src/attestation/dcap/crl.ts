// Certificate revocation lists (RFC 5280 section 5), as Intel's PCS publishes them (DER, ECDSA-signed).
// @phala/dcap-qvl only looks serials up in CRLs; it neither verifies their signatures nor their
// validity window, and silently ignores CRLs it cannot parse. This module does all three, strictly.
//
//   CertificateList = SEQUENCE { TBSCertList, AlgorithmIdentifier, BIT STRING signature }
//   TBSCertList     = SEQUENCE { INTEGER version OPTIONAL, AlgorithmIdentifier, Name issuer,
//                                Time thisUpdate, Time nextUpdate (required here),
//                                SEQUENCE OF SEQUENCE { INTEGER serial, Time, ... } OPTIONAL,
//                                [0] extensions OPTIONAL }
import { VerificationError } from "../verdict.js";
import { sameBytes } from "./bytes.js";
import {
  children,
  contextTag,
  DerError,
  expectTag,
  readBitString,
  readBoolean,
  readIntegerHex,
  readOid,
  readSingle,
  readTime,
  Tag,
  type Tlv,
} from "./der.js";
import { type Digest, ecdsaDigestOf, verifyEcdsa } from "./ecdsa.js";
import { type Certificate, KeyUsage, parseLabelled } from "./pki.js";

const CRL_EXTENSIONS_TAG = contextTag(0);
const CRL_PARTS = 3;

export type Crl = {
  /** The signature's AlgorithmIdentifier, as read (the same inside and outside the TBS). */
  algorithm: Tlv;
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Revoked serials, uppercase hex without leading zeros. */
  revoked: ReadonlySet<string>;
  tbs: Uint8Array;
  /** Intel signs CRLs with ecdsa-with-SHA256. */
  digest: Digest;
  signature: Uint8Array;
};

/** A CRL whose signature algorithm is the caller's to judge (AMD's: RSASSA-PSS, sev-snp/crl.ts). */
export type AnyCrl = Omit<Crl, "digest">;

/** An ECDSA-signed CRL (Intel's). */
export function parseCrl(der: Uint8Array, label: string): Crl {
  return parseLabelled(label, "CRL", () => {
    const crl = parseCrlOrThrow(der);
    const digest = ecdsaDigestOf(crl.algorithm);
    if (digest === undefined) throw new VerificationError("unsupported CRL signature algorithm");
    return { ...crl, digest };
  });
}

/** A CRL of any signature algorithm, its structure checked as strictly as parseCrl's. */
export function parseAnyCrl(der: Uint8Array, label: string): AnyCrl {
  return parseLabelled(label, "CRL", () => parseCrlOrThrow(der));
}

function parseCrlOrThrow(der: Uint8Array): AnyCrl {
  const parts = children(readSingle(der, Tag.sequence));
  if (parts.length !== CRL_PARTS) throw new DerError("CRL must have three parts");
  const [tbs, algorithm, signatureValue] = parts as [Tlv, Tlv, Tlv];
  const fields = children(expectTag(tbs, Tag.sequence));
  let i = fields[0]?.tag === Tag.integer ? 1 : 0;
  const innerAlgorithm = expectTag(fields[i++], Tag.sequence);
  if (!sameBytes(innerAlgorithm.bytes, expectTag(algorithm, Tag.sequence).bytes)) {
    throw new DerError("CRL signature algorithm mismatch");
  }
  const issuer = expectTag(fields[i++], Tag.sequence).bytes;
  const thisUpdate = readTime(fields[i++]);
  // nextUpdate is optional in RFC 5280 but a CRL without one never goes stale: refuse it.
  const nextField = fields[i];
  if (nextField?.tag !== Tag.utcTime && nextField?.tag !== Tag.generalizedTime) {
    throw new VerificationError("CRL has no nextUpdate");
  }
  const nextUpdate = readTime(fields[i++]);
  const revoked = new Set<string>();
  if (fields[i]?.tag === Tag.sequence) {
    for (const entry of children(fields[i++]!)) {
      revoked.add(readIntegerHex(expectTag(children(expectTag(entry, Tag.sequence))[0], Tag.integer)));
    }
  }
  if (fields[i]?.tag === CRL_EXTENSIONS_TAG) rejectCriticalExtensions(fields[i++]!);
  if (i !== fields.length) throw new DerError("unexpected fields in CRL");
  const { bytes: signature, unusedBits } = readBitString(signatureValue);
  if (unusedBits !== 0) throw new DerError("CRL signature is not whole bytes");
  return { algorithm, issuer, thisUpdate, nextUpdate, revoked, tbs: tbs.bytes, signature };
}

/** RFC 5280 5.2: a CRL with a critical extension we do not process must not be used. */
function rejectCriticalExtensions(field: Tlv): void {
  const wrapped = children(field);
  if (wrapped.length !== 1) throw new DerError("malformed CRL extensions field");
  for (const extension of children(expectTag(wrapped[0], Tag.sequence))) {
    const parts = children(expectTag(extension, Tag.sequence));
    if (parts.length === 3 && readBoolean(parts[1]!)) {
      throw new VerificationError(`unsupported critical CRL extension ${readOid(parts[0]!)}`);
    }
  }
}

/** The CRL was issued (name and signature) by `issuer` and is current at `now`. */
export function verifyCrl(crl: Crl, issuer: Certificate, now: Date, label: string): void {
  checkCrlIssued(crl, issuer, now, label, (signed) =>
    verifyEcdsa(issuer.publicKey, crl.digest, signed.tbs, signed.signature, "der"),
  );
}

/** As verifyCrl, with the signature checked by `signedBy` (a CRL of another algorithm). */
export function checkCrlIssued(
  crl: AnyCrl,
  issuer: Certificate,
  now: Date,
  label: string,
  signedBy: (crl: AnyCrl) => boolean,
): void {
  if (!sameBytes(crl.issuer, issuer.subject)) throw new VerificationError(`${label}: issuer name mismatch`);
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsage.cRLSign) === 0) {
    throw new VerificationError(`${label}: issuer may not sign CRLs`);
  }
  if (!signedBy(crl)) throw new VerificationError(`${label}: signature invalid`);
  if (now < crl.thisUpdate) throw new VerificationError(`${label}: not yet valid`);
  if (now > crl.nextUpdate) throw new VerificationError(`${label}: expired`);
}

/** Serials are only unique per issuer, so the CRL must come from the certificate's own issuer. */
export function assertNotRevoked(cert: Certificate, crl: AnyCrl, label: string): void {
  if (!sameBytes(cert.issuer, crl.issuer)) {
    throw new VerificationError(`${label}: CRL is from another issuer`);
  }
  if (crl.revoked.has(cert.serial)) throw new VerificationError(`${label}: certificate revoked`);
}
