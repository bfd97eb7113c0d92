// ECDSA for the attestation PKIs, in portable code (@noble/curves, @noble/hashes): the same
// synchronous checks in Node, in the enclave and in the browser. Intel's PKI (SGX and TDX quotes,
// PCS collateral) is P-256 with SHA-256 throughout; AWS Nitro's is P-384 with SHA-384. So each curve
// verifies only with its own digest, as noble hashes for it, and nothing else is implemented (no RSA,
// no other curve or digest): a key or algorithm of any other kind verifies nothing.
//
// Encodings read here:
//   SubjectPublicKeyInfo (RFC 5480) = SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID namedCurve },
//                                                BIT STRING (no unused bits) point }
//   point (SEC 1 2.3.3) = 0x04 || X || Y, or 0x02 / 0x03 || X (compressed)
//   signature, "der" (certificates, CRLs) = SEQUENCE { INTEGER r, INTEGER s }
//   signature, "raw" (Intel quotes, COSE) = r || s, each big-endian, the curve's size
import { p256, p384 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "./bytes.js";
import { children, DerError, expectTag, readBitString, readOid, readSingle, Tag, type Tlv } from "./der.js";

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const CURVES = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384" } as const;
export type CurveName = (typeof CURVES)[keyof typeof CURVES];
const IMPLEMENTATIONS = { "P-256": p256, "P-384": p384 } as const;
/** The digest each curve's verify hashes the data with. */
const DIGEST_OF_CURVE = { "P-256": "sha256", "P-384": "sha384" } as const;
export type Digest = (typeof DIGEST_OF_CURVE)[CurveName];
/** ecdsa-with-SHA256 and ecdsa-with-SHA384 (RFC 5758 3.2). */
const ECDSA_SIGNATURE_ALGORITHMS: Readonly<Record<string, Digest>> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
};

const SPKI_PARTS = 2;
const UNCOMPRESSED_POINT = 0x04;
/**
 * What OpenSSL (and so node:crypto, which these checks replace) accepts: any s in 1..n-1, not only
 * the lower half that noble requires by default.
 */
const VERIFY_OPTIONS = { lowS: false } as const;

/**
 * Signatures verified lately, each named by all that its verification depends on. Every quote of a
 * platform comes with the same collateral and CA certificates, so their signatures are checked once
 * and then looked up (a P-256 verification costs milliseconds in pure JS). Only successes are kept:
 * an answer is the same with or without it, and nothing an attacker sends can make a later check
 * pass. The oldest is forgotten first.
 */
const verified = new Set<string>();
const MAX_REMEMBERED = 256;

export type EcPublicKey = { curve: CurveName; point: Uint8Array };

/**
 * The EC key of a SubjectPublicKeyInfo; undefined for another algorithm or curve. Throws DerError
 * when the structure itself is malformed. The point is checked where a signature is verified.
 */
export function readEcPublicKey(spki: Uint8Array): EcPublicKey | undefined {
  const parts = children(readSingle(spki, Tag.sequence));
  if (parts.length !== SPKI_PARTS) throw new DerError("SubjectPublicKeyInfo must have two parts");
  const algorithm = children(expectTag(parts[0], Tag.sequence));
  const { bytes: point, unusedBits } = readBitString(parts[1]!);
  if (readOid(expectTag(algorithm[0], Tag.oid)) !== OID_EC_PUBLIC_KEY) return undefined;
  const parameters = algorithm[1];
  const curve =
    algorithm.length === SPKI_PARTS && parameters?.tag === Tag.oid
      ? CURVES[readOid(parameters) as keyof typeof CURVES]
      : undefined;
  return curve === undefined || unusedBits !== 0 ? undefined : { curve, point };
}

/** The digest of an ECDSA AlgorithmIdentifier; undefined for any other algorithm. */
export function ecdsaDigestOf(algorithm: Tlv): Digest | undefined {
  return ECDSA_SIGNATURE_ALGORITHMS[readOid(expectTag(children(algorithm)[0], Tag.oid))];
}

/** A P-256 key given as raw X || Y (Intel's attestation key); throws unless the point is on the curve. */
export function rawP256Key(xy: Uint8Array): EcPublicKey {
  const point = new Uint8Array(1 + xy.length);
  point[0] = UNCOMPRESSED_POINT;
  point.set(xy, 1);
  p256.Point.fromBytes(point); // throws for a point off the curve
  return { curve: "P-256", point };
}

/** Whether `signature` over `data` verifies with `key`; false, never a throw, for anything malformed. */
export function verifyEcdsa(
  key: EcPublicKey | undefined,
  digest: Digest | undefined,
  data: Uint8Array,
  signature: Uint8Array | undefined,
  encoding: "der" | "raw",
): boolean {
  if (key === undefined || signature === undefined || digest !== DIGEST_OF_CURVE[key.curve]) return false;
  const name = [key.curve, toHex(key.point), toHex(sha256(data)), encoding, toHex(signature)].join(":");
  if (verified.has(name)) return true;
  let ok = false;
  try {
    ok = IMPLEMENTATIONS[key.curve].verify(signature, data, key.point, {
      ...VERIFY_OPTIONS,
      format: encoding === "der" ? "der" : "compact",
    });
  } catch {
    ok = false;
  }
  if (ok) remember(name);
  return ok;
}

function remember(name: string): void {
  verified.add(name);
  if (verified.size > MAX_REMEMBERED) verified.delete(verified.values().next().value!);
}
