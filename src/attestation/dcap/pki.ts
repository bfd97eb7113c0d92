// X.509 certificates and chains for the attestation verifiers (Intel PCS and AWS Nitro PKIs).
// node:crypto (OpenSSL) parses each certificate and verifies signatures; der.ts reads the fields
// node:crypto does not expose (raw names, serial, basic constraints, key usage, critical flags).
// Chains are checked in the RFC 5280 spirit, restricted to what these two PKIs use.
import { X509Certificate } from "node:crypto";
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
const CERTIFICATE_PARTS = 3;
const BITS_PER_BYTE = 8;
const MSB_SHIFT = 7;
/** Real chains have 2..5 certificates; the cap keeps hostile inputs from costing much. */
const MAX_PEM_CERTIFICATES = 8;

export type Certificate = {
  der: Uint8Array;
  node: X509Certificate;
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
  const [tbs, signatureAlgorithm] = parts as [Tlv, Tlv, Tlv];
  const fields = children(expectTag(tbs, Tag.sequence));
  let i = fields[0]?.tag === TBS_VERSION_TAG ? 1 : 0;
  const serial = readIntegerHex(expectTag(fields[i++], Tag.integer));
  const innerAlgorithm = expectTag(fields[i++], Tag.sequence);
  // RFC 5280 4.1.1.2: the signed and unsigned algorithm identifiers must agree.
  if (!sameBytes(innerAlgorithm.bytes, expectTag(signatureAlgorithm, Tag.sequence).bytes)) {
    throw new DerError("signature algorithm mismatch");
  }
  const issuer = expectTag(fields[i++], Tag.sequence).bytes;
  const validity = children(expectTag(fields[i++], Tag.sequence));
  const subject = expectTag(fields[i++], Tag.sequence).bytes;
  const spki = expectTag(fields[i++], Tag.sequence).bytes;
  const extensionsField = fields.slice(i).find((f) => f.tag === TBS_EXTENSIONS_TAG);
  const extensions = extensionsField ? readExtensions(extensionsField) : new Map<string, Uint8Array>();
  const { ca, pathLength } = readBasicConstraints(extensions.get(OID_BASIC_CONSTRAINTS));
  const usage = extensions.get(OID_KEY_USAGE);
  return {
    der,
    node: new X509Certificate(Buffer.from(der)),
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

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
const PEM_LINE_BREAKS = /\r?\n/g;
const BASE64_BODY = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64_QUANTUM = 4;
/** What may surround PEM blocks: whitespace and the NUL terminator Intel's quoting library appends. */
const PEM_FILLER = /^[\s\0]*$/;

/** Strict PEM: only CERTIFICATE blocks of canonical base64, separated by whitespace. */
export function parsePemCertificates(text: string, label: string): Uint8Array[] {
  const ders: Uint8Array[] = [];
  let last = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (!PEM_FILLER.test(text.slice(last, match.index))) {
      throw new VerificationError(`${label}: unexpected text between PEM blocks`);
    }
    last = match.index + match[0].length;
    const body = match[1]!.replace(PEM_LINE_BREAKS, "");
    if (!BASE64_BODY.test(body) || body.length % BASE64_QUANTUM !== 0) {
      throw new VerificationError(`${label}: PEM block is not valid base64`);
    }
    const der = Buffer.from(body, "base64");
    // Node ignores the unused low bits of the last base64 digit; refuse such non-canonical text so
    // that one certificate has exactly one encoding.
    if (der.toString("base64") !== body) {
      throw new VerificationError(`${label}: PEM block is not canonical base64`);
    }
    ders.push(new Uint8Array(der));
    if (ders.length > MAX_PEM_CERTIFICATES) throw new VerificationError(`${label}: too many certificates`);
  }
  if (!PEM_FILLER.test(text.slice(last))) {
    throw new VerificationError(`${label}: unexpected text after PEM blocks`);
  }
  if (ders.length === 0) throw new VerificationError(`${label}: no PEM certificate`);
  return ders;
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
  try {
    return cert.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}
