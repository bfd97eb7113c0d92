// Verifier for simulated quotes ("ANONIFY-SIM-QUOTE"). Same shape as the hardware verifiers (parse,
// chain to a pinned root, validity at `now`, signature, verdict) so callers exercise the real code path,
// but the verdict always says platform "sim", debug, tcbStatus "Simulated": the pinned root's private key
// is public (see sim-root.ts), so a passing sim quote proves nothing and no production policy accepts it.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import type { webcrypto as WebCrypto } from "node:crypto";
import { bytesToHex } from "@noble/hashes/utils.js";
import type * as X509 from "@peculiar/x509";
import { decodeSimQuote } from "./sim-quote.js";
import { SIM_ROOT_CERT_PEM } from "./sim-root.js";
import { type Verdict, VerificationError, type Verifier, type VerifyOptions } from "./verdict.js";

const webcrypto = globalThis.crypto;
const QUOTE_SIGNATURE_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const QUOTING_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const NOT_TO_PINNED_ROOT = "certificate chain does not lead to the pinned simulated root";
const PEM_BEGIN = "-----BEGIN CERTIFICATE-----";
const PEM_END = "-----END CERTIFICATE-----";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

type X509Module = typeof X509;
let x509Module: Promise<X509Module> | undefined;
/** Loaded on first use, so importing this verifier never fails even where @peculiar/x509 cannot load. */
function loadX509(): Promise<X509Module> {
  x509Module ??= import("@peculiar/x509").catch((error: unknown) => {
    x509Module = undefined;
    throw new VerificationError("simulated quote verifier unavailable: @peculiar/x509 failed to load", {
      cause: error,
    });
  });
  return x509Module;
}

export const verifySimQuote: Verifier = async (evidence, options) => {
  try {
    return await verify(evidence, options);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // Belt and braces: whatever a parser below throws on hostile input, callers only ever see this type.
    throw new VerificationError("malformed simulated quote", { cause: error });
  }
};

async function verify(evidence: Uint8Array, options: VerifyOptions): Promise<Verdict> {
  const now = options?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new VerificationError("options.now must be a valid Date");
  }
  const quote = decodeSimQuote(evidence);
  const rootDer = rootCertificateDer(options.rootCertificatePem);

  // The chain must end in the pinned root itself, byte for byte: a root carried in the quote earns no trust.
  const last = quote.certificates[quote.certificates.length - 1];
  if (last === undefined || !sameBytes(last, rootDer)) throw new VerificationError(NOT_TO_PINNED_ROOT);
  const x509 = await loadX509();
  const chain = quote.certificates.map((der, position) => parseCertificate(x509, der, position));
  await verifyChainSignatures(x509, chain);
  for (const cert of chain) checkValidity(cert, now);

  const leaf = chain[0]!;
  const quotingKey = await importQuotingKey(x509, leaf);
  let signatureOk = false;
  try {
    signatureOk = await webcrypto.subtle.verify(
      QUOTE_SIGNATURE_ALGORITHM,
      quotingKey,
      new Uint8Array(quote.signature), // copies on a plain ArrayBuffer, as the DOM's BufferSource wants
      new Uint8Array(quote.signedBytes),
    );
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) throw new VerificationError("quote signature invalid");

  const measurement = bytesToHex(quote.measurement);
  const signerMeasurement = bytesToHex(quote.signerMeasurement);
  return {
    platform: "sim",
    measurement,
    signerMeasurement,
    measurements: { measurement, signerMeasurement },
    debug: true,
    tcbStatus: "Simulated",
    advisoryIds: [],
    reportData: bytesToHex(quote.reportData),
    issuedAt: new Date(quote.timestampMs),
  };
}

let pinnedRootDer: Uint8Array | undefined;

/** The pinned sim root, unless the caller explicitly passed another (tests, private PKIs). */
function rootCertificateDer(pem: string | undefined): Uint8Array {
  if (pem === undefined) {
    pinnedRootDer ??= pemToDer(SIM_ROOT_CERT_PEM);
    if (pinnedRootDer === undefined) throw new VerificationError("the pinned simulated root is not PEM");
    return pinnedRootDer;
  }
  // No need to parse it here: it only ever matches a chain certificate byte for byte, and those are parsed.
  const der = pemToDer(pem);
  if (der === undefined) throw new VerificationError("rootCertificatePem is not a PEM certificate");
  return der;
}

/** The DER of a single-certificate PEM, or undefined. */
function pemToDer(pem: unknown): Uint8Array | undefined {
  if (typeof pem !== "string") return undefined;
  const trimmed = pem.trim();
  if (!trimmed.startsWith(PEM_BEGIN) || !trimmed.endsWith(PEM_END)) return undefined;
  const body = trimmed.slice(PEM_BEGIN.length, trimmed.length - PEM_END.length).replace(/\s+/g, "");
  if (!BASE64.test(body) || body.length % 4 !== 0) return undefined;
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function parseCertificate(x509: X509Module, der: Uint8Array, position: number): X509.X509Certificate {
  assertStrictEnvelope(der, position);
  try {
    return new x509.X509Certificate(der.slice());
  } catch (error) {
    throw new VerificationError(`malformed certificate at chain position ${position}`, { cause: error });
  }
}

/** Each certificate is signed by the next one, which must be a CA allowed to have that many below it. */
async function verifyChainSignatures(x509: X509Module, chain: X509.X509Certificate[]): Promise<void> {
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i]!;
    const issuer = chain[i + 1]!;
    const constraints = issuer.getExtension(x509.BasicConstraintsExtension);
    if (!constraints?.ca) throw new VerificationError(`certificate at chain position ${i + 1} is not a CA`);
    // Intermediates below the issuer: positions 1..i.
    if (constraints.pathLength !== undefined && i > constraints.pathLength) {
      throw new VerificationError(`certificate chain exceeds the path length of position ${i + 1}`);
    }
    if (child.issuer !== issuer.subject) throw new VerificationError(NOT_TO_PINNED_ROOT);
    let ok = false;
    try {
      ok = await child.verify({ publicKey: issuer.publicKey, signatureOnly: true }, webcrypto);
    } catch {
      ok = false;
    }
    if (!ok) throw new VerificationError(`certificate at chain position ${i} is not signed by its issuer`);
  }
}

/** RFC 5280 validity is inclusive at both ends. */
function checkValidity(cert: X509.X509Certificate, now: Date): void {
  const t = now.getTime();
  if (t < cert.notBefore.getTime())
    throw new VerificationError(`certificate not yet valid at ${now.toISOString()}`);
  if (t > cert.notAfter.getTime()) throw new VerificationError(`certificate expired at ${now.toISOString()}`);
}

async function importQuotingKey(x509: X509Module, leaf: X509.X509Certificate): Promise<WebCrypto.CryptoKey> {
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw new VerificationError("quoting certificate is not allowed to sign");
  }
  const algorithm = leaf.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (
    algorithm.name !== QUOTING_KEY_ALGORITHM.name ||
    algorithm.namedCurve !== QUOTING_KEY_ALGORITHM.namedCurve
  ) {
    throw new VerificationError("quoting key is not an ECDSA P-256 key");
  }
  try {
    return await webcrypto.subtle.importKey("spki", leaf.publicKey.rawData, QUOTING_KEY_ALGORITHM, false, [
      "verify",
    ]);
  } catch (error) {
    throw new VerificationError("quoting key is not an ECDSA P-256 key", { cause: error });
  }
}

// The X.509 parser tolerates BER slack outside the signed TBS bytes (outer lengths, tags, the BIT STRING's
// unused-bits byte, the ECDSA signature's DER), so those bytes could change without any check noticing.
// Sim chains are ECDSA / SHA-256 throughout, so the envelope has one strict DER shape: require exactly it.
//   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm ecdsa-with-SHA256,
//                              signatureValue BIT STRING (0 unused bits) { SEQUENCE { INTEGER r, INTEGER s } } }
const ECDSA_WITH_SHA256_DER = Uint8Array.of(
  0x30,
  0x0a,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x04,
  0x03,
  0x02,
);
const TAG_SEQUENCE = 0x30;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;

function assertStrictEnvelope(der: Uint8Array, position: number): void {
  const fail = (what: string): never => {
    throw new VerificationError(`malformed certificate at chain position ${position}: ${what}`);
  };
  const outer = readTlv(der, 0) ?? fail("bad outer encoding");
  if (outer.tag !== TAG_SEQUENCE || outer.end !== der.length) fail("bad outer encoding");
  const tbs = readTlv(der, outer.start) ?? fail("bad TBS encoding");
  if (tbs.tag !== TAG_SEQUENCE) fail("bad TBS encoding");
  const algorithmEnd = tbs.end + ECDSA_WITH_SHA256_DER.length;
  if (!sameBytes(der.subarray(tbs.end, algorithmEnd), ECDSA_WITH_SHA256_DER))
    fail("not signed with ECDSA SHA-256");
  const bits = readTlv(der, algorithmEnd) ?? fail("bad signature encoding");
  if (bits.tag !== TAG_BIT_STRING || bits.end !== outer.end || der[bits.start] !== 0)
    fail("bad signature encoding");
  const sig = readTlv(der, bits.start + 1) ?? fail("bad signature encoding");
  if (sig.tag !== TAG_SEQUENCE || sig.end !== bits.end) fail("bad signature encoding");
  const r = readTlv(der, sig.start);
  const s = r && readTlv(der, r.end);
  if (!r || !s || s.end !== sig.end || !isStrictPositiveInteger(der, r) || !isStrictPositiveInteger(der, s)) {
    fail("bad signature encoding");
  }
}

type Tlv = { tag: number; start: number; end: number };

/** One DER element at `offset`: low tag number, definite minimal length, within bounds; else undefined. */
function readTlv(bytes: Uint8Array, offset: number): Tlv | undefined {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) return undefined;
  let length = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    // Certificates in a sim quote are at most 64 KiB, so two length bytes suffice.
    if (count === 0 || count > 2 || start + count > bytes.length || bytes[start] === 0) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    if (length < 0x80) return undefined;
    start += count;
  }
  const end = start + length;
  return end <= bytes.length ? { tag, start, end } : undefined;
}

/** DER INTEGER that is positive and minimally encoded. */
function isStrictPositiveInteger(bytes: Uint8Array, tlv: Tlv): boolean {
  if (tlv.tag !== TAG_INTEGER || tlv.end <= tlv.start) return false;
  const first = bytes[tlv.start]!;
  if (first & 0x80) return false;
  return !(first === 0 && tlv.end - tlv.start > 1 && (bytes[tlv.start + 1]! & 0x80) === 0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
