// X.509 certificates and chains for the attestation verifiers (Intel PCS and AWS Nitro PKIs), in
// portable code: der.ts reads each certificate, ecdsa.ts verifies its signature (both PKIs are
// ECDSA only). Chains are checked in the RFC 5280 spirit, restricted to what these two PKIs use.
//
//   Certificate    = SEQUENCE { TBSCertificate, AlgorithmIdentifier, BIT STRING signature }
//   TBSCertificate = SEQUENCE { [0] version OPTIONAL, INTEGER serial, AlgorithmIdentifier, Name issuer,
//                               SEQUENCE { Time notBefore, Time notAfter }, Name subject,
//                               SubjectPublicKeyInfo, [1] issuerUID OPTIONAL, [2] subjectUID OPTIONAL,
//                               [3] SEQUENCE OF Extension OPTIONAL }
//   Extension      = SEQUENCE { OID, BOOLEAN critical DEFAULT FALSE, OCTET STRING value }
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
  readSmallInteger,
  readTime,
  Tag,
  type Tlv,
} from "./der.js";
import { type Digest, type EcPublicKey, ecdsaDigestOf, readEcPublicKey, verifyEcdsa } from "./ecdsa.js";
import { parsePemCertificates } from "./pem.js";

const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_KEY_USAGE = "2.5.29.15";
/** The critical extensions we understand; any other critical one makes the certificate unusable. */
const UNDERSTOOD_CRITICAL = new Set([OID_BASIC_CONSTRAINTS, OID_KEY_USAGE]);

/** KeyUsage bits (RFC 5280 4.2.1.3), as a mask with bit i = usage i. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

const TBS_VERSION_TAG = contextTag(0);
const TBS_EXTENSIONS_TAG = contextTag(3);
/** Context-specific primitive [1] and [2]: the unique IDs of X.509 v2, before the extensions. */
const TBS_ISSUER_UNIQUE_ID_TAG = 0x81;
const TBS_SUBJECT_UNIQUE_ID_TAG = 0x82;
const TBS_TRAILING_TAGS = [TBS_ISSUER_UNIQUE_ID_TAG, TBS_SUBJECT_UNIQUE_ID_TAG, TBS_EXTENSIONS_TAG];
/** v3 is 2; v1 (0) and v2 (1) are read alike. */
const MAX_VERSION = 2;
const CERTIFICATE_PARTS = 3;
const VALIDITY_PARTS = 2;
const BITS_PER_BYTE = 8;
const MSB_SHIFT = 7;

export type Certificate = {
  der: Uint8Array;
  /** The signed part (TBSCertificate), its issuer's signature and the digest it was made with. */
  tbs: Uint8Array;
  /** Undefined when the signature algorithm is not ECDSA: nothing then verifies this certificate. */
  signatureDigest: Digest | undefined;
  /** Undefined when the BIT STRING is not whole bytes (OpenSSL refuses such a signature too). */
  signature: Uint8Array | undefined;
  /** The certified key; undefined when it is not a P-256 or P-384 key (nothing verifies with it). */
  publicKey: EcPublicKey | undefined;
  /** Uppercase hex, no leading zeros, as CRL entries are compared. */
  serial: string;
  /** Raw DER of the issuer and subject Names: chaining compares them byte for byte. */
  issuer: Uint8Array;
  subject: Uint8Array;
  /** Raw SubjectPublicKeyInfo, to tell whether two certificates certify the same key. */
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  pathLength: number | undefined;
  /** KeyUsage mask, or undefined when the extension is absent (then any usage is allowed). */
  keyUsage: number | undefined;
  /** extnValue contents by OID, for platform extensions (e.g. Intel's SGX extension). */
  extensions: ReadonlyMap<string, Uint8Array>;
};

/** Runs a DER parser; every failure becomes a VerificationError that names what was parsed. */
export function parseLabelled<T>(label: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof VerificationError) throw new VerificationError(`${label}: ${error.reason}`);
    throw new VerificationError(`${label}: malformed ${what}`, { cause: error });
  }
}

export function parseCertificate(der: Uint8Array, label: string): Certificate {
  return parseLabelled(label, "certificate", () => parseCertificateOrThrow(der));
}

function parseCertificateOrThrow(der: Uint8Array): Certificate {
  const parts = children(readSingle(der, Tag.sequence));
  if (parts.length !== CERTIFICATE_PARTS) throw new DerError("certificate must have three parts");
  const [tbs, signatureAlgorithm, signatureValue] = parts as [Tlv, Tlv, Tlv];
  const fields = children(expectTag(tbs, Tag.sequence));
  let i = 0;
  if (fields[0]?.tag === TBS_VERSION_TAG) {
    const version = children(fields[i++]!);
    if (version.length !== 1 || readSmallInteger(version[0]!) > MAX_VERSION) {
      throw new DerError("unsupported certificate version");
    }
  }
  const serial = readIntegerHex(expectTag(fields[i++], Tag.integer));
  const innerAlgorithm = expectTag(fields[i++], Tag.sequence);
  // RFC 5280 4.1.1.2: the signed and unsigned algorithm identifiers must agree.
  if (!sameBytes(innerAlgorithm.bytes, expectTag(signatureAlgorithm, Tag.sequence).bytes)) {
    throw new DerError("signature algorithm mismatch");
  }
  const issuer = expectTag(fields[i++], Tag.sequence).bytes;
  const validity = children(expectTag(fields[i++], Tag.sequence));
  if (validity.length !== VALIDITY_PARTS) throw new DerError("validity must have two times");
  const subject = expectTag(fields[i++], Tag.sequence).bytes;
  const spki = expectTag(fields[i++], Tag.sequence).bytes;
  const trailing = fields.slice(i);
  checkTrailingFields(trailing);
  const extensionsField = trailing.find((f) => f.tag === TBS_EXTENSIONS_TAG);
  const extensions = extensionsField ? readExtensions(extensionsField) : new Map<string, Uint8Array>();
  const { ca, pathLength } = readBasicConstraints(extensions.get(OID_BASIC_CONSTRAINTS));
  const usage = extensions.get(OID_KEY_USAGE);
  const { bytes: signature, unusedBits } = readBitString(signatureValue);
  return {
    der,
    tbs: tbs.bytes,
    signatureDigest: ecdsaDigestOf(signatureAlgorithm),
    signature: unusedBits === 0 ? signature : undefined,
    publicKey: readEcPublicKey(spki),
    serial,
    issuer,
    subject,
    spki,
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    ca,
    pathLength,
    keyUsage: usage === undefined ? undefined : readKeyUsage(usage),
    extensions,
  };
}

/** After the key only the unique IDs and the extensions, each at most once and in that order. */
function checkTrailingFields(fields: readonly Tlv[]): void {
  let previous = -1;
  for (const field of fields) {
    const position = TBS_TRAILING_TAGS.indexOf(field.tag);
    if (position <= previous) throw new DerError("unexpected field in certificate");
    previous = position;
  }
}

function readExtensions(field: Tlv): Map<string, Uint8Array> {
  const wrapped = children(field);
  if (wrapped.length !== 1) throw new DerError("malformed extensions field");
  const list = children(expectTag(wrapped[0], Tag.sequence));
  const out = new Map<string, Uint8Array>();
  for (const extension of list) {
    const parts = children(expectTag(extension, Tag.sequence));
    if (parts.length < 2 || parts.length > 3) throw new DerError("malformed extension");
    const oid = readOid(expectTag(parts[0], Tag.oid));
    const critical = parts.length === 3 ? readBoolean(parts[1]!) : false;
    const value = expectTag(parts[parts.length - 1], Tag.octetString).value;
    if (out.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    if (critical && !UNDERSTOOD_CRITICAL.has(oid)) {
      throw new VerificationError(`unsupported critical extension ${oid}`);
    }
    out.set(oid, value);
  }
  return out;
}

function readBasicConstraints(value: Uint8Array | undefined): {
  ca: boolean;
  pathLength: number | undefined;
} {
  if (value === undefined) return { ca: false, pathLength: undefined };
  const parts = children(readSingle(value, Tag.sequence));
  let ca = false;
  let pathLength: number | undefined;
  for (const part of parts) {
    if (part.tag === Tag.boolean) ca = readBoolean(part);
    else pathLength = readSmallInteger(part);
  }
  return { ca, pathLength };
}

function readKeyUsage(value: Uint8Array): number {
  const { bytes } = readBitString(readSingle(value, Tag.bitString));
  let mask = 0;
  for (let bit = 0; bit < bytes.length * BITS_PER_BYTE && bit < 31; bit++) {
    const byte = bytes[Math.floor(bit / BITS_PER_BYTE)]!;
    if ((byte >> (MSB_SHIFT - (bit % BITS_PER_BYTE))) & 1) mask |= 1 << bit;
  }
  return mask;
}

/** A caller-supplied root (options.rootCertificatePem): exactly one PEM certificate. */
export function parseRootPem(pem: unknown, label: string): Certificate {
  if (typeof pem !== "string") throw new VerificationError(`${label}: rootCertificatePem must be a string`);
  const ders = parsePemCertificates(pem, label);
  if (ders.length !== 1) {
    throw new VerificationError(`${label}: rootCertificatePem must hold one certificate`);
  }
  return parseCertificate(ders[0]!, label);
}

export function checkValidityWindow(cert: Certificate, now: Date, label: string): void {
  // RFC 5280: validity is inclusive at both ends.
  if (now < cert.notBefore) throw new VerificationError(`${label}: certificate not yet valid`);
  if (now > cert.notAfter) throw new VerificationError(`${label}: certificate expired`);
}

export type LeafPolicy = {
  /** Intel requires leaves (PCK, TCB signing) not to be CAs; a self-signed Nitro test root signs directly. */
  endEntity: boolean;
  /** KeyUsage bits the leaf must allow, when it carries the extension. */
  keyUsage: number;
};

/**
 * Verifies `chain` (root first, leaf last) against the pinned `root`: the first certificate must be
 * the pinned root byte for byte (a root carried in evidence earns no trust by itself), every
 * certificate must be valid at `now`, and each one must be issued (name and signature) by the one
 * before it, which must be a CA allowed to sign certificates with enough path length left.
 * Returns the leaf.
 */
export function verifyChain(
  chain: readonly Certificate[],
  root: Certificate,
  now: Date,
  label: string,
  leafPolicy: LeafPolicy,
): Certificate {
  const first = chain[0];
  const leaf = chain[chain.length - 1];
  if (first === undefined || leaf === undefined) {
    throw new VerificationError(`${label}: empty certificate chain`);
  }
  if (!sameBytes(first.der, root.der)) {
    throw new VerificationError(`${label}: certificate chain does not start at the pinned root`);
  }
  chain.forEach((cert, i) => {
    checkValidityWindow(cert, now, `${label}: certificate ${i}`);
  });
  for (let i = 1; i < chain.length; i++) {
    const issuer = chain[i - 1]!;
    const cert = chain[i]!;
    const where = `${label}: certificate ${i}`;
    if (!issuer.ca) throw new VerificationError(`${where}: issuer is not a CA`);
    if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsage.keyCertSign) === 0) {
      throw new VerificationError(`${where}: issuer may not sign certificates`);
    }
    // CA certificates below the issuer, not counting the leaf.
    const intermediatesBelow = chain.length - 1 - i;
    if (issuer.pathLength !== undefined && intermediatesBelow > issuer.pathLength) {
      throw new VerificationError(`${where}: issuer path length exceeded`);
    }
    if (!sameBytes(cert.issuer, issuer.subject)) {
      throw new VerificationError(`${where}: issuer name mismatch`);
    }
    if (!verifiesWith(cert, issuer)) throw new VerificationError(`${where}: signature invalid`);
  }
  if (leafPolicy.endEntity && leaf.ca) throw new VerificationError(`${label}: leaf certificate is a CA`);
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & leafPolicy.keyUsage) !== leafPolicy.keyUsage) {
    throw new VerificationError(`${label}: leaf key usage does not allow signing`);
  }
  return leaf;
}

function verifiesWith(cert: Certificate, issuer: Certificate): boolean {
  return verifyEcdsa(issuer.publicKey, cert.signatureDigest, cert.tbs, cert.signature, "der");
}
