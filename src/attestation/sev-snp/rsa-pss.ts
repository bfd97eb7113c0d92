// RSASSA-PSS verification (RFC 8017 8.1.2 and 9.1.2) in portable code (bigint and @noble/hashes),
// for AMD's SEV-SNP PKI: the ARK, the ASK / ASVK and every VCEK / VLEK certificate are signed with
// RSASSA-PSS, SHA-384, MGF1 with SHA-384, a 48-byte salt and trailer 0xBC, by RSA-4096 keys. Only
// that parameter set verifies; every other one is refused by name. Public keys only: nothing secret
// is computed, so the arithmetic need not be constant-time.
//
// Encodings read here:
//   SubjectPublicKeyInfo = SEQUENCE { SEQUENCE { OID rsaEncryption, NULL }, BIT STRING RSAPublicKey }
//   RSAPublicKey         = SEQUENCE { INTEGER modulus, INTEGER publicExponent }   (RFC 8017 A.1.1)
//   AlgorithmIdentifier  = SEQUENCE { OID id-RSASSA-PSS, RSASSA-PSS-params }       (RFC 4055 3.1)
//   RSASSA-PSS-params    = SEQUENCE { [0] hashAlgorithm, [1] maskGenAlgorithm, [2] saltLength,
//                                     [3] trailerField OPTIONAL (1) }
//     hashAlgorithm = SEQUENCE { OID sha384, NULL OPTIONAL }
//     maskGenAlgorithm = SEQUENCE { OID id-mgf1, SEQUENCE { OID sha384, NULL OPTIONAL } }
// AMD writes the default trailer (1) explicitly in its ARK and ASK certificates and leaves it out in
// VCEKs; both are read. The hash and MGF fields have SHA-1 defaults, so they must be present.
import { sha384 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { sameBytes, toHex } from "../dcap/bytes.js";
import {
  children,
  contextTag,
  DerError,
  expectTag,
  readBitString,
  readOid,
  readSingle,
  readSmallInteger,
  Tag,
  type Tlv,
} from "../dcap/der.js";

const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
const OID_MGF1 = "1.2.840.113549.1.1.8";
const OID_SHA384 = "2.16.840.1.101.3.4.2.2";
const NULL_TAG = 0x05;
/** SHA-384's output, and the salt length AMD uses (equal, as RFC 8017 recommends). */
const HASH_BYTES = 48;
const SALT_BYTES = 48;
const TRAILER_FIELD_BC = 1;
const TRAILER_BYTE = 0xbc;
/** RFC 8017 9.1.1: M' = (0x)00 00 00 00 00 00 00 00 || mHash || salt. */
const PADDING1 = new Uint8Array(8);
const MGF1_COUNTER_BYTES = 4;
/** AMD's keys are RSA-4096; smaller ones are too weak to stand for a root, larger ones cost for nothing. */
const MIN_MODULUS_BITS = 2048;
const MAX_MODULUS_BITS = 4096;
const BITS_PER_BYTE = 8;
const SEQUENCE_PARTS = 2;

export type RsaPublicKey = { n: bigint; e: bigint; bits: number; bytes: number };

/** A positive INTEGER in its minimal encoding, as a bigint. */
function readPositiveInteger(tlv: Tlv | undefined): bigint {
  const { value } = expectTag(tlv, Tag.integer);
  const first = value[0];
  if (first === undefined || (first & 0x80) !== 0) throw new DerError("INTEGER is not positive");
  if (first === 0 && (value.length === 1 || (value[1]! & 0x80) === 0)) {
    throw new DerError("INTEGER is not minimally encoded");
  }
  return BigInt(`0x${toHex(value)}`);
}

/** The RSA key of a SubjectPublicKeyInfo; undefined for a key of another algorithm. */
export function readRsaPublicKey(spki: Uint8Array): RsaPublicKey | undefined {
  const parts = children(readSingle(spki, Tag.sequence));
  if (parts.length !== SEQUENCE_PARTS) throw new DerError("SubjectPublicKeyInfo must have two parts");
  const algorithm = children(expectTag(parts[0], Tag.sequence));
  if (readOid(expectTag(algorithm[0], Tag.oid)) !== OID_RSA_ENCRYPTION) return undefined;
  // RFC 3279 2.3.1: the parameters of rsaEncryption are NULL.
  if (algorithm.length !== SEQUENCE_PARTS || algorithm[1]!.tag !== NULL_TAG || algorithm[1]!.value.length) {
    throw new DerError("rsaEncryption parameters must be NULL");
  }
  const { bytes, unusedBits } = readBitString(parts[1]!);
  if (unusedBits !== 0) throw new DerError("RSA public key is not whole bytes");
  const key = children(readSingle(bytes, Tag.sequence));
  if (key.length !== SEQUENCE_PARTS) throw new DerError("RSAPublicKey must have two parts");
  const n = readPositiveInteger(key[0]);
  const e = readPositiveInteger(key[1]);
  const bits = n.toString(2).length;
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) {
    throw new DerError(`RSA modulus of ${bits} bits is outside ${MIN_MODULUS_BITS}..${MAX_MODULUS_BITS}`);
  }
  if (e < 3n || e % 2n === 0n || e >= n) throw new DerError("RSA public exponent is invalid");
  return { n, e, bits, bytes: Math.ceil(bits / BITS_PER_BYTE) };
}

/** SEQUENCE { OID sha384, NULL OPTIONAL }. */
function isSha384(tlv: Tlv): boolean {
  const parts = children(expectTag(tlv, Tag.sequence));
  const nullParameters =
    parts.length === 1 ||
    (parts.length === SEQUENCE_PARTS && parts[1]!.tag === NULL_TAG && !parts[1]!.value.length);
  return readOid(expectTag(parts[0], Tag.oid)) === OID_SHA384 && nullParameters;
}

/** The one explicit child of a context-specific [n] field. */
function explicit(tlv: Tlv | undefined, n: number): Tlv {
  const inner = children(expectTag(tlv, contextTag(n)));
  if (inner.length !== 1) throw new DerError(`[${n}] must hold one value`);
  return inner[0]!;
}

/**
 * Whether a signature AlgorithmIdentifier is RSASSA-PSS with exactly AMD's parameters. Throws
 * DerError only for malformed DER; another algorithm or parameter set is `false`.
 */
export function isAmdRsaPss(algorithm: Tlv): boolean {
  const parts = children(expectTag(algorithm, Tag.sequence));
  if (readOid(expectTag(parts[0], Tag.oid)) !== OID_RSASSA_PSS) return false;
  if (parts.length !== SEQUENCE_PARTS) return false;
  const params = children(expectTag(parts[1], Tag.sequence));
  if (params.length < 3 || params.length > 4) return false;
  if (!isSha384(explicit(params[0], 0))) return false;
  const mgf = children(expectTag(explicit(params[1], 1), Tag.sequence));
  if (mgf.length !== SEQUENCE_PARTS || readOid(expectTag(mgf[0], Tag.oid)) !== OID_MGF1) return false;
  if (!isSha384(mgf[1]!)) return false;
  if (readSmallInteger(explicit(params[2], 2)) !== SALT_BYTES) return false;
  return params.length === 3 || readSmallInteger(explicit(params[3], 3)) === TRAILER_FIELD_BC;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** I2OSP (RFC 8017 4.1): `value` as exactly `length` big-endian bytes; undefined when it does not fit. */
function i2osp(value: bigint, length: number): Uint8Array | undefined {
  const hex = value.toString(16);
  if (hex.length > 2 * length) return undefined;
  const bytes = new Uint8Array(length);
  const padded = hex.padStart(2 * length, "0");
  for (let i = 0; i < length; i++) bytes[i] = Number.parseInt(padded.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** MGF1 (RFC 8017 B.2.1) with SHA-384. */
function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const counter = new Uint8Array(MGF1_COUNTER_BYTES);
  const view = new DataView(counter.buffer);
  for (let i = 0, offset = 0; offset < length; i++, offset += HASH_BYTES) {
    view.setUint32(0, i);
    out.set(sha384(concatBytes(seed, counter)).subarray(0, length - offset), offset);
  }
  return out;
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2) with SHA-384 and a 48-byte salt. */
function emsaPssVerify(message: Uint8Array, em: Uint8Array, emBits: number): boolean {
  const emLen = em.length;
  if (emLen < HASH_BYTES + SALT_BYTES + 2) return false;
  if (em[emLen - 1] !== TRAILER_BYTE) return false;
  const maskedDb = em.subarray(0, emLen - HASH_BYTES - 1);
  const h = em.subarray(emLen - HASH_BYTES - 1, emLen - 1);
  const topBits = BITS_PER_BYTE * emLen - emBits;
  const topMask = 0xff >> topBits;
  if ((maskedDb[0]! & ~topMask) !== 0) return false;
  const db = mgf1(h, maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ maskedDb[i]!;
  db[0] = db[0]! & topMask;
  const separator = emLen - HASH_BYTES - SALT_BYTES - 2;
  for (let i = 0; i < separator; i++) if (db[i] !== 0) return false;
  if (db[separator] !== 0x01) return false;
  const salt = db.subarray(db.length - SALT_BYTES);
  return sameBytes(h, sha384(concatBytes(PADDING1, sha384(message), salt)));
}

/** RSASSA-PSS-VERIFY (RFC 8017 8.1.2) with AMD's parameters; false, never a throw, when it fails. */
export function verifyRsaPss(key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== key.bytes) return false;
  const s = BigInt(`0x${toHex(signature)}`);
  if (s >= key.n) return false;
  const emBits = key.bits - 1;
  const em = i2osp(modPow(s, key.e, key.n), Math.ceil(emBits / BITS_PER_BYTE));
  return em !== undefined && emsaPssVerify(message, em, emBits);
}
