// HPKE envelopes (RFC 9180, base mode): how a client seals a signed command or query to an enclave's
// X25519 key. Pure (no I/O): the client and the enclave share it. Replies (receipts, query answers,
// refusals) travel in reply envelopes (src/protocol/reply-envelope.ts, v3): one AEAD under the
// response key the message carried.
//
// Envelope v2:
//    0  version        1   ENVELOPE_VERSION
//    1  kind           1   ENVELOPE_KIND
//    2  chain id       8   } the ledger domain, in clear so a wrong one is reported as such; bound
//   10  contract      20   } into the HPKE key schedule through `info`, so it cannot be altered
//   30  enc           32   HPKE encapsulated key (the sender's ephemeral X25519 public key)
//   62  ciphertext ‖ 16-byte tag
// The AEAD plaintext is the message padded to a size bucket (src/protocol/padding.ts, the scheme
// batch slots use: 4-byte length ‖ message ‖ zeros up to the smallest of 512 B, 1, 4, 16, 64,
// 256 KiB, 1 MiB — the padding buckets from the kind's smallest, MIN_BUCKET, up), so the ciphertext
// is 16 bytes longer than a bucket and an envelope's size tells only its bucket: not the kind of
// command, nor the digits of an amount. 512 bytes holds every ERC-20 command and query (any uint256
// amounts and nonces); 256 would not (a transfer of 10^18 needs 261 bytes), which would split
// commands by the digits of amounts.
// Before decrypting, an envelope whose size is not header + bucket + tag is `malformed` (public);
// after, padding that is not its smallest bucket or not zeros is `bad_padding`.
// info = HPKE_INFO_LABEL ‖ bytes 0..30. The kind inside `info` keeps a command and a query from ever
// opening as one another; HPKE already binds `enc` and the recipient's key. The version is in
// `info` too, so a v1 envelope never opens as v2. Kinds 3 and 4 (v2 receipts and answers) are no
// longer HPKE envelopes.
import { concatBytes } from "@noble/hashes/utils.js";
import type { LedgerDomain } from "./digests.js";
import { type HpkeRecipient, hpkeOpen, hpkeRecipient, hpkeSeal } from "./hpke.js";
import { PADDING_BUCKETS, PaddingError, pad, paddedSize, unpad } from "./padding.js";
import {
  ADDRESS_BYTES,
  CHAIN_ID_BYTES,
  MAX_SIGNED_BYTES,
  readDomain,
  sameDomain,
  WireError,
  writeDomain,
} from "./wire.js";

/** The suite, by RFC 9180 identifiers: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. */
export const HPKE_SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0001 } as const;
export const ENVELOPE_VERSION = 2;
export const ENVELOPE_KIND = { command: 1, query: 2 } as const;
export type EnvelopeKind = keyof typeof ENVELOPE_KIND;

export const X25519_KEY_BYTES = 32;
export const HPKE_ENC_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
const OFFSET_VERSION = 0;
const OFFSET_KIND = 1;
const OFFSET_DOMAIN = 2;
const OFFSET_ENC = OFFSET_DOMAIN + CHAIN_ID_BYTES + ADDRESS_BYTES;
export const ENVELOPE_HEADER_BYTES = OFFSET_ENC + HPKE_ENC_BYTES;
export const ENVELOPE_OVERHEAD_BYTES = ENVELOPE_HEADER_BYTES + AEAD_TAG_BYTES;
/** The smallest padded plaintext of each kind of envelope (see the layout above). */
export const MIN_BUCKET: Record<EnvelopeKind, number> = { command: 512, query: 512 };
for (const size of Object.values(MIN_BUCKET))
  if (!(PADDING_BUCKETS as readonly number[]).includes(size))
    throw new Error("an envelope's smallest bucket must be a padding bucket");
/** Largest sealed command or query: the largest signed message, padded, plus the envelope's header and tag. */
export const MAX_SEALED_MESSAGE_BYTES =
  ENVELOPE_OVERHEAD_BYTES + paddedSize(MAX_SIGNED_BYTES, MIN_BUCKET.command)!;
/** The 0 byte ends the label, so the label and the header that follows cannot run into each other. */
const HPKE_INFO_LABEL = new TextEncoder().encode("anonify.envelope.v1\0");

// Importing a private key into WebCrypto (and deriving its public half, which decapsulation needs)
// costs more than the rest of an open; an enclave opens many envelopes with one key, so keep it.
const recipientKeys = new WeakMap<Uint8Array, Promise<HpkeRecipient>>();

function recipientKeyPair(privateKey: Uint8Array): Promise<HpkeRecipient> {
  let pair = recipientKeys.get(privateKey);
  if (pair === undefined) {
    if (privateKey.length !== X25519_KEY_BYTES)
      throw new WireError("malformed", "X25519 private key must be 32 bytes");
    pair = hpkeRecipient(privateKey);
    recipientKeys.set(privateKey, pair);
  }
  return pair;
}

function header(kind: EnvelopeKind, domain: LedgerDomain): Uint8Array {
  const out = new Uint8Array(OFFSET_ENC);
  out[OFFSET_VERSION] = ENVELOPE_VERSION;
  out[OFFSET_KIND] = ENVELOPE_KIND[kind];
  writeDomain(out, OFFSET_DOMAIN, domain);
  return out;
}

function info(headerBytes: Uint8Array): Uint8Array {
  return concatBytes(HPKE_INFO_LABEL, headerBytes);
}

export type SealEnvelopeParameters = {
  kind: EnvelopeKind;
  domain: LedgerDomain;
  /** The recipient's X25519 public key, 32 raw bytes. */
  recipientPublicKey: Uint8Array;
  plaintext: Uint8Array;
};

export async function sealEnvelope({
  kind,
  domain,
  recipientPublicKey,
  plaintext,
}: SealEnvelopeParameters): Promise<Uint8Array> {
  if (recipientPublicKey.length !== X25519_KEY_BYTES) {
    throw new WireError("malformed", "X25519 public key must be 32 bytes");
  }
  let padded: Uint8Array;
  try {
    padded = pad(plaintext, MIN_BUCKET[kind]);
  } catch (error) {
    if (error instanceof PaddingError) throw new WireError("too_large", `a ${kind}: ${error.reason}`);
    throw error;
  }
  const head = header(kind, domain);
  let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
  try {
    sealed = await hpkeSeal(recipientPublicKey, info(head), padded);
  } catch {
    // A low-order or otherwise invalid X25519 key makes the DH fail (RFC 9180 §7.1.4).
    throw new WireError("malformed", "cannot seal to this X25519 public key");
  }
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + sealed.ciphertext.length);
  out.set(head);
  out.set(sealed.enc, OFFSET_ENC);
  out.set(sealed.ciphertext, ENVELOPE_HEADER_BYTES);
  return out;
}

export type EnvelopeHeader = { version: number; kind: EnvelopeKind; domain: LedgerDomain };

/** Reads the clear header, without decrypting. Throws `WireError`. */
export function readEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  if (envelope.length < ENVELOPE_OVERHEAD_BYTES) throw new WireError("malformed", "envelope is truncated");
  const version = envelope[OFFSET_VERSION]!;
  if (version !== ENVELOPE_VERSION) throw new WireError("unsupported_version", `envelope version ${version}`);
  const code = envelope[OFFSET_KIND]!;
  const kind = (Object.keys(ENVELOPE_KIND) as EnvelopeKind[]).find((k) => ENVELOPE_KIND[k] === code);
  if (kind === undefined) throw new WireError("wrong_kind", `unknown envelope kind ${code}`);
  return { version, kind, domain: readDomain(envelope, OFFSET_DOMAIN) };
}

export type OpenEnvelopeParameters = {
  kind: EnvelopeKind;
  /** The domain the recipient serves; omit to accept the one in the header (it is authenticated). */
  domain?: LedgerDomain;
  /** The recipient's X25519 private key, 32 raw bytes. Pass the same array each time to reuse its import. */
  recipientPrivateKey: Uint8Array;
  envelope: Uint8Array;
  maxBytes: number;
};

/**
 * Opens an envelope of the given kind and returns the message, unpadded. Codes, decided before
 * decrypting (from the envelope's size and clear header): `too_large`, `malformed`,
 * `unsupported_version`, `wrong_kind`, `wrong_domain`; at decryption: `undecryptable` (tampered, or
 * sealed to another key or domain); after: `bad_padding`.
 */
export async function openEnvelope({
  kind,
  domain,
  recipientPrivateKey,
  envelope,
  maxBytes,
}: OpenEnvelopeParameters): Promise<{ domain: LedgerDomain; plaintext: Uint8Array }> {
  if (envelope.length > maxBytes) throw new WireError("too_large", `envelope exceeds ${maxBytes} bytes`);
  const head = readEnvelopeHeader(envelope);
  if (head.kind !== kind) throw new WireError("wrong_kind", `expected a ${kind} envelope, got ${head.kind}`);
  if (domain !== undefined && !sameDomain(head.domain, domain)) {
    throw new WireError("wrong_domain", "envelope is for another chain or contract");
  }
  const bucket = envelope.length - ENVELOPE_OVERHEAD_BYTES;
  if (bucket < MIN_BUCKET[kind] || !(PADDING_BUCKETS as readonly number[]).includes(bucket)) {
    throw new WireError("malformed", "envelope size is not a padding bucket");
  }
  let padded: Uint8Array;
  try {
    const keys = await recipientKeyPair(recipientPrivateKey);
    padded = await hpkeOpen(
      keys,
      envelope.subarray(OFFSET_ENC, ENVELOPE_HEADER_BYTES),
      info(envelope.subarray(0, OFFSET_ENC)),
      envelope.subarray(ENVELOPE_HEADER_BYTES),
    );
  } catch {
    throw new WireError("undecryptable", "envelope does not open with this key");
  }
  try {
    return { domain: head.domain, plaintext: unpad(padded, undefined, MIN_BUCKET[kind]) };
  } catch (error) {
    if (error instanceof PaddingError) throw new WireError("bad_padding", error.reason);
    throw error;
  }
}
