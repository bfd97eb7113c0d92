// AWS Nitro Enclaves attestation documents: COSE_Sign1 (RFC 9052) signed with ES384 by a per-enclave
// certificate that chains, through the document's cabundle, to the AWS Nitro Enclaves Root G1.
// Follows AWS's "Verifying the root of trust" (enclaves user guide): syntactic checks of every field,
// the chain cabundle[0] (the root) .. certificate valid at `now`, then the COSE signature.
//
// Choices:
//   - cabundle[0] must be the pinned root byte for byte (the AWS root, or options.rootCertificatePem
//     when passed explicitly). An empty or null cabundle is accepted only when the signing certificate
//     itself is the pinned root (self-signed test documents); with the AWS root pinned that cannot happen.
//   - signerMeasurement = PCR8 (hash of the enclave image's signing certificate) when present and
//     non-zero, else 48 zero bytes. PCR3 (parent instance IAM role) says nothing about who built the image.
//   - debug = PCR0, PCR1 and PCR2 all zero, as Nitro reports them for enclaves run in debug mode.
//   - PCRs must be 48 bytes: the only digest the format allows is SHA384.
//   - timestamp is milliseconds since the epoch (AWS's definition) and becomes issuedAt as is.
//   - the unprotected header is ignored (it is not signed); it may be a map or null.
import { concatBytes } from "@noble/hashes/utils.js";
import { Decoder, Tag } from "cbor-x";
import { isAllZero, toHex } from "./dcap/bytes.js";
import { verifyEcdsa } from "./dcap/ecdsa.js";
import { type Certificate, KeyUsage, parseCertificate, parseRootPem, verifyChain } from "./dcap/pki.js";
import type { Verdict, Verifier, VerifyOptions } from "./verdict.js";
import { VerificationError } from "./verdict.js";

/** AWS Nitro Enclaves Root G1, https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip */
export const AWS_NITRO_ROOT_G1_PEM = `-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----
`;

/** SHA-256 of the root's DER as AWS publishes it (nitro.test.ts asserts it). */
export const AWS_NITRO_ROOT_G1_SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

const COSE_SIGN1_TAG = 18;
const COSE_SIGN1_PARTS = 4;
const COSE_HEADER_ALG = 1;
const COSE_HEADER_CRIT = 2;
const COSE_ALG_ES384 = -35;
const SIG_STRUCTURE_CONTEXT = "Signature1";
/** ES384 signatures in COSE are raw r || s, 48 bytes each. */
const ES384_SIGNATURE_SIZE = 96;
const ES384_CURVE = "P-384";

const DIGEST_SHA384 = "SHA384";
const PCR_SIZE = 48;
const MAX_PCR_INDEX = 31;
const PCR_DEBUG_INDICES = [0, 1, 2] as const;
const PCR_IMAGE = 0;
const PCR_SIGNING_CERT = 8;
/** AWS's CDDL: certificates are 1..1024 bytes, public_key 1..1024, user_data and nonce 0..1024. */
const MAX_FIELD_SIZE = 1024;
const MIN_CERTIFICATE_SIZE = 1;
const MIN_PUBLIC_KEY_SIZE = 1;
const MIN_USER_FIELD_SIZE = 0;
/** A real cabundle holds 3..4 certificates; the cap bounds the work a hostile document can cause. */
const MAX_CABUNDLE = 8;

/** CBOR byte-string and text-string major types, and head encodings, for the Sig_structure. */
const CBOR_ARRAY_OF_4 = 0x84;
const CBOR_MAJOR_BYTES = 0x40;
const CBOR_MAJOR_TEXT = 0x60;
const CBOR_INLINE_MAX = 23;
const CBOR_ONE_BYTE = 24;
const CBOR_TWO_BYTES = 25;
const CBOR_FOUR_BYTES = 26;
const BYTE_LIMIT = 0x100;
const U16_LIMIT = 0x10000;
const U16_BYTES = 2;
const U32_BYTES = 4;
const SIG_STRUCTURE_CONTEXT_BYTES = new TextEncoder().encode(SIG_STRUCTURE_CONTEXT);

export type NitroDocument = {
  moduleId: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  pcrs: ReadonlyMap<number, Uint8Array>;
  certificate: Uint8Array;
  cabundle: readonly Uint8Array[];
  publicKey: Uint8Array | undefined;
  userData: Uint8Array | undefined;
  nonce: Uint8Array | undefined;
};

export type ParsedNitroEvidence = {
  protectedHeader: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  document: NitroDocument;
};

// Maps stay Maps (integer PCR indices and COSE labels keep their types); no record extension.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

/** Structure only: COSE_Sign1 shape, ES384 in the protected header, every payload field. */
export function parseNitroDocument(evidence: Uint8Array): ParsedNitroEvidence {
  if (!(evidence instanceof Uint8Array)) throw new VerificationError("nitro: evidence must be bytes");
  let cose = decodeCbor(evidence, "COSE_Sign1");
  if (cose instanceof Tag) {
    if (cose.tag !== COSE_SIGN1_TAG) throw new VerificationError("nitro: not a COSE_Sign1 tag");
    cose = cose.value;
  }
  if (!Array.isArray(cose) || cose.length !== COSE_SIGN1_PARTS) {
    throw new VerificationError("nitro: COSE_Sign1 must be an array of four");
  }
  const [protectedHeader, unprotected, payload, signature] = cose as unknown[];
  if (!(protectedHeader instanceof Uint8Array) || !(payload instanceof Uint8Array)) {
    throw new VerificationError("nitro: COSE_Sign1 protected header and payload must be bytes");
  }
  if (!(signature instanceof Uint8Array) || signature.length !== ES384_SIGNATURE_SIZE) {
    throw new VerificationError("nitro: signature must be 96 bytes");
  }
  if (unprotected !== null && !(unprotected instanceof Map)) {
    throw new VerificationError("nitro: unprotected header must be a map");
  }
  checkProtectedHeader(protectedHeader);
  return { protectedHeader, payload, signature, document: parsePayload(payload) };
}

function decodeCbor(bytes: Uint8Array, label: string): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new VerificationError(`nitro: ${label} is not valid CBOR`, { cause: error });
  }
}

function checkProtectedHeader(bytes: Uint8Array): void {
  const header = decodeCbor(bytes, "protected header");
  if (!(header instanceof Map) || header.get(COSE_HEADER_ALG) !== COSE_ALG_ES384) {
    throw new VerificationError("nitro: protected header alg is not ES384");
  }
  // We understand no critical header parameter, so any "crit" list makes the document unusable.
  if (header.has(COSE_HEADER_CRIT)) throw new VerificationError("nitro: unsupported critical header");
}

function parsePayload(bytes: Uint8Array): NitroDocument {
  const map = decodeCbor(bytes, "payload");
  if (!(map instanceof Map)) throw new VerificationError("nitro: payload must be a map");
  const moduleId = map.get("module_id");
  if (typeof moduleId !== "string" || moduleId.length === 0) {
    throw new VerificationError("nitro: module_id missing");
  }
  if (map.get("digest") !== DIGEST_SHA384) throw new VerificationError("nitro: digest must be SHA384");
  const cabundle = map.get("cabundle") ?? [];
  if (!Array.isArray(cabundle) || cabundle.length > MAX_CABUNDLE) {
    throw new VerificationError("nitro: cabundle malformed");
  }
  return {
    moduleId,
    timestamp: readTimestamp(map.get("timestamp")),
    pcrs: readPcrs(map.get("pcrs")),
    certificate: readBytes(map.get("certificate"), "certificate", MIN_CERTIFICATE_SIZE, false)!,
    cabundle: cabundle.map(
      (c: unknown, i: number) => readBytes(c, `cabundle[${i}]`, MIN_CERTIFICATE_SIZE, false)!,
    ),
    publicKey: readBytes(map.get("public_key"), "public_key", MIN_PUBLIC_KEY_SIZE, true),
    userData: readBytes(map.get("user_data"), "user_data", MIN_USER_FIELD_SIZE, true),
    nonce: readBytes(map.get("nonce"), "nonce", MIN_USER_FIELD_SIZE, true),
  };
}

function readTimestamp(value: unknown): number {
  const n = typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0 || Number.isNaN(new Date(n).getTime())) {
    throw new VerificationError("nitro: timestamp malformed");
  }
  return n;
}

function readPcrs(value: unknown): Map<number, Uint8Array> {
  if (!(value instanceof Map) || value.size === 0) throw new VerificationError("nitro: pcrs missing");
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, digest] of value) {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX) {
      throw new VerificationError("nitro: PCR index out of range");
    }
    if (!(digest instanceof Uint8Array) || digest.length !== PCR_SIZE) {
      throw new VerificationError(`nitro: PCR${index} is not a SHA384 digest`);
    }
    pcrs.set(index, digest);
  }
  for (const index of PCR_DEBUG_INDICES) {
    if (!pcrs.has(index)) throw new VerificationError(`nitro: PCR${index} missing`);
  }
  return pcrs;
}

/** Byte fields; optional ones may be absent or null. */
function readBytes(
  value: unknown,
  field: string,
  minSize: number,
  optional: boolean,
): Uint8Array | undefined {
  if (optional && (value === undefined || value === null)) return undefined;
  if (!(value instanceof Uint8Array) || value.length < minSize || value.length > MAX_FIELD_SIZE) {
    throw new VerificationError(`nitro: ${field} malformed`);
  }
  return value;
}

export const verifyNitroDocument: Verifier = async (evidence, options) => {
  try {
    return verifyOrThrow(evidence, options);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // Whatever a parser below throws on hostile input, callers only ever see this type.
    throw new VerificationError("nitro: malformed evidence", { cause: error });
  }
};

function verifyOrThrow(evidence: Uint8Array, options: VerifyOptions): Verdict {
  const now = options?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new VerificationError("options.now must be a valid Date");
  }
  const parsed = parseNitroDocument(evidence);
  const doc = parsed.document;
  const root = pinnedRoot(options.rootCertificatePem);
  const chain = [...doc.cabundle, doc.certificate].map((der, i) =>
    parseCertificate(der, `nitro chain: certificate ${i}`),
  );
  const leaf = verifyChain(chain, root, now, "nitro chain", {
    endEntity: false,
    keyUsage: KeyUsage.digitalSignature,
  });
  if (leaf.publicKey?.curve !== ES384_CURVE) {
    throw new VerificationError("nitro: signing certificate key is not P-384");
  }
  if (!verifyEcdsa(leaf.publicKey, "sha384", sigStructure(parsed), parsed.signature, "raw")) {
    throw new VerificationError("nitro: COSE signature invalid");
  }
  return buildVerdict(doc);
}

let awsRoot: Certificate | undefined;

function pinnedRoot(pem: string | undefined): Certificate {
  if (pem !== undefined) return parseRootPem(pem, "rootCertificatePem");
  awsRoot ??= parseRootPem(AWS_NITRO_ROOT_G1_PEM, "AWS Nitro root");
  return awsRoot;
}

/** Sig_structure = ["Signature1", protected, external_aad = h'', payload], encoded canonically. */
function sigStructure(parsed: ParsedNitroEvidence): Uint8Array {
  return concatBytes(
    Uint8Array.of(CBOR_ARRAY_OF_4),
    cborHead(CBOR_MAJOR_TEXT, SIG_STRUCTURE_CONTEXT_BYTES.length),
    SIG_STRUCTURE_CONTEXT_BYTES,
    cborHead(CBOR_MAJOR_BYTES, parsed.protectedHeader.length),
    parsed.protectedHeader,
    cborHead(CBOR_MAJOR_BYTES, 0),
    cborHead(CBOR_MAJOR_BYTES, parsed.payload.length),
    parsed.payload,
  );
}

/** A CBOR head (RFC 8949 3): major type and argument, the argument in the shortest form. */
function cborHead(major: number, length: number): Uint8Array {
  if (length <= CBOR_INLINE_MAX) return Uint8Array.of(major | length);
  if (length < BYTE_LIMIT) return Uint8Array.of(major | CBOR_ONE_BYTE, length);
  const wide = length >= U16_LIMIT;
  const head = new Uint8Array(1 + (wide ? U32_BYTES : U16_BYTES));
  head[0] = major | (wide ? CBOR_FOUR_BYTES : CBOR_TWO_BYTES);
  const view = new DataView(head.buffer);
  if (wide) view.setUint32(1, length);
  else view.setUint16(1, length);
  return head;
}

function buildVerdict(doc: NitroDocument): Verdict {
  const measurements: Record<string, string> = {};
  for (const index of [...doc.pcrs.keys()].sort((a, b) => a - b)) {
    measurements[`pcr${index}`] = toHex(doc.pcrs.get(index)!);
  }
  const signing = doc.pcrs.get(PCR_SIGNING_CERT);
  const verdict: Verdict = {
    platform: "nitro",
    measurement: toHex(doc.pcrs.get(PCR_IMAGE)!),
    signerMeasurement: signing !== undefined && !isAllZero(signing) ? toHex(signing) : "00".repeat(PCR_SIZE),
    measurements,
    debug: PCR_DEBUG_INDICES.every((i) => isAllZero(doc.pcrs.get(i)!)),
    tcbStatus: "UpToDate",
    advisoryIds: [],
    reportData: doc.userData === undefined ? "" : toHex(doc.userData),
    issuedAt: new Date(doc.timestamp),
  };
  if (doc.nonce !== undefined) verdict.nonce = toHex(doc.nonce);
  if (doc.publicKey !== undefined) verdict.publicKey = toHex(doc.publicKey);
  return verdict;
}
