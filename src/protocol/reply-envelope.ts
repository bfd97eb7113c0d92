// Reply envelopes: how an enclave seals a receipt, a query answer or a refusal to the user who sent
// the command or query, under the response key the user put inside it. Pure (no I/O): the client
// and the enclave share it.
//
// The response key is 32 random bytes the client draws per message and carries inside the signed
// command or query (src/protocol/wire.ts), which only the client and enclaves ever read in clear: it
// travels HPKE-sealed to an enclave (envelope.ts), then in batches sealed under the group's key.
// Any enclave that applied the command holds it and can answer for it, so a reply is one AEAD under
// that key: no X25519 agreement on either side, no key pair for the client to make. The user's
// signature covers a commitment to the key (`responseKeyHash` in src/protocol/eip712.ts), so the
// command id (the EIP-712 digest) names its key and a host cannot swap the key of a signed message.
// A reply that opens was sealed by a holder of the key — an enclave, or the user — for this kind
// of reply, this domain and this message: the associated data binds all three.
//
// Reply envelope v3 (the HPKE envelopes of commands and queries are v2; v2 receipts are refused by
// version):
//    0  version        1   REPLY_ENVELOPE_VERSION
//    1  kind           1   REPLY_KIND
//    2  chain id       8   } the ledger domain, in clear so a wrong one is reported as such
//   10  contract      20   }
//   30  nonce         24   random (XChaCha20: random nonces do not collide in any real number of replies)
//   54  ciphertext ‖ 16-byte tag (XChaCha20-Poly1305)
// Associated data: REPLY_AD_LABEL ‖ bytes 0..30 ‖ the message's digest (the command or query id, 32
// bytes; not on the wire: the client knows which message it asked about). So a reply of another
// kind, domain or message does not open, even under the same key: a refusal never opens as a
// receipt, nor one command's receipt as another's.
// The plaintext is padded as envelopes are (src/protocol/padding.ts, from REPLY_MIN_BUCKET up: 1 KiB,
// since receipts and answers name the chain point and state digest they reflect, ~240 bytes, and a
// failed transfer's reason passes 512), so a reply's size tells only its bucket: not its outcome.
// Before decrypting, a size that is not header + bucket + tag is `malformed`; after, padding that
// is not its smallest bucket or not zeros is `bad_padding`.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { type Hex, hexToBytes } from "viem";
import type { LedgerDomain } from "./digests.js";
import { LARGEST_BUCKET, PADDING_BUCKETS, PaddingError, pad, unpad } from "./padding.js";
import {
  ADDRESS_BYTES,
  CHAIN_ID_BYTES,
  RESPONSE_KEY_BYTES,
  readDomain,
  sameDomain,
  WireError,
  writeDomain,
} from "./wire.js";

export const REPLY_ENVELOPE_VERSION = 3;
/** Codes 3 and 4 as in v2 receipts and answers; refusals have their own. */
export const REPLY_KIND = { receipt: 3, queryAnswer: 4, commandRefusal: 5, queryRefusal: 6 } as const;
export type ReplyKind = keyof typeof REPLY_KIND;

export const REPLY_NONCE_BYTES = 24;
export const REPLY_TAG_BYTES = 16;
const DIGEST_BYTES = 32;
const OFFSET_VERSION = 0;
const OFFSET_KIND = 1;
const OFFSET_DOMAIN = 2;
const OFFSET_NONCE = OFFSET_DOMAIN + CHAIN_ID_BYTES + ADDRESS_BYTES;
export const REPLY_HEADER_BYTES = OFFSET_NONCE + REPLY_NONCE_BYTES;
export const REPLY_OVERHEAD_BYTES = REPLY_HEADER_BYTES + REPLY_TAG_BYTES;
/** The smallest padded plaintext of a reply (see the layout above). */
export const REPLY_MIN_BUCKET = 1024;
/** Largest reply envelope: one in the largest padding bucket (1 MiB). */
export const MAX_REPLY_ENVELOPE_BYTES = REPLY_OVERHEAD_BYTES + LARGEST_BUCKET;
/** The 0 byte ends the label, so the label and the header that follows cannot run into each other. */
const REPLY_AD_LABEL = new TextEncoder().encode("anonify.reply.v3\0");

/** A fresh response key: 32 random bytes, one per command or query. */
export const generateResponseKey = (): Uint8Array => randomBytes(RESPONSE_KEY_BYTES);

function responseCipher(responseKey: Uint8Array, nonce: Uint8Array, header: Uint8Array, digest: Hex) {
  if (responseKey.length !== RESPONSE_KEY_BYTES)
    throw new WireError("malformed", `a response key is ${RESPONSE_KEY_BYTES} bytes`);
  const id = hexToBytes(digest);
  if (id.length !== DIGEST_BYTES) throw new WireError("malformed", "a message digest is 32 bytes");
  return xchacha20poly1305(responseKey, nonce, concatBytes(REPLY_AD_LABEL, header, id));
}

export type SealReplyParameters = {
  kind: ReplyKind;
  domain: LedgerDomain;
  /** The digest of the command or query replied to. */
  digest: Hex;
  responseKey: Uint8Array;
  plaintext: Uint8Array;
};

/** Seals a reply; throws `WireError` `too_large` if it fits no bucket. */
export function sealReply({ kind, domain, digest, responseKey, plaintext }: SealReplyParameters): Uint8Array {
  let padded: Uint8Array;
  try {
    padded = pad(plaintext, REPLY_MIN_BUCKET);
  } catch (error) {
    if (error instanceof PaddingError) throw new WireError("too_large", `a ${kind}: ${error.reason}`);
    throw error;
  }
  const out = new Uint8Array(REPLY_OVERHEAD_BYTES + padded.length);
  out[OFFSET_VERSION] = REPLY_ENVELOPE_VERSION;
  out[OFFSET_KIND] = REPLY_KIND[kind];
  writeDomain(out, OFFSET_DOMAIN, domain);
  const nonce = randomBytes(REPLY_NONCE_BYTES);
  out.set(nonce, OFFSET_NONCE);
  const sealed = responseCipher(responseKey, nonce, out.subarray(0, OFFSET_NONCE), digest).encrypt(padded);
  out.set(sealed, REPLY_HEADER_BYTES);
  return out;
}

export type OpenReplyParameters = {
  kind: ReplyKind;
  /** The domain the client serves; omit to accept the one in the header (it is authenticated). */
  domain?: LedgerDomain;
  /** The digest of the command or query the client asked about. */
  digest: Hex;
  responseKey: Uint8Array;
  envelope: Uint8Array;
};

/**
 * Opens a reply of `kind` to message `digest` and returns it, unpadded. Codes, decided before
 * decrypting: `too_large`, `malformed` (size), `unsupported_version`, `wrong_kind`, `wrong_domain`;
 * at decryption: `undecryptable` (tampered, another key, or a reply to another message); after:
 * `bad_padding`.
 */
export function openReply({ kind, domain, digest, responseKey, envelope }: OpenReplyParameters): {
  domain: LedgerDomain;
  plaintext: Uint8Array;
} {
  if (envelope.length > MAX_REPLY_ENVELOPE_BYTES)
    throw new WireError("too_large", `a reply exceeds ${MAX_REPLY_ENVELOPE_BYTES} bytes`);
  if (envelope.length < REPLY_OVERHEAD_BYTES) throw new WireError("malformed", "reply is truncated");
  const version = envelope[OFFSET_VERSION]!;
  if (version !== REPLY_ENVELOPE_VERSION)
    throw new WireError(
      "unsupported_version",
      `reply envelope version ${version}, not ${REPLY_ENVELOPE_VERSION}`,
    );
  const code = envelope[OFFSET_KIND]!;
  if (code !== REPLY_KIND[kind]) {
    const named = (Object.keys(REPLY_KIND) as ReplyKind[]).find((k) => REPLY_KIND[k] === code);
    throw new WireError("wrong_kind", `expected a ${kind}, got ${named ?? `reply kind ${code}`}`);
  }
  const head = readDomain(envelope, OFFSET_DOMAIN);
  if (domain !== undefined && !sameDomain(head, domain))
    throw new WireError("wrong_domain", "reply is for another chain or contract");
  const bucket = envelope.length - REPLY_OVERHEAD_BYTES;
  if (bucket < REPLY_MIN_BUCKET || !(PADDING_BUCKETS as readonly number[]).includes(bucket))
    throw new WireError("malformed", "reply size is not a padding bucket");
  const nonce = envelope.subarray(OFFSET_NONCE, REPLY_HEADER_BYTES);
  const cipher = responseCipher(responseKey, nonce, envelope.subarray(0, OFFSET_NONCE), digest);
  let padded: Uint8Array;
  try {
    padded = cipher.decrypt(envelope.subarray(REPLY_HEADER_BYTES));
  } catch {
    throw new WireError(
      "undecryptable",
      "reply does not open with this message's response key (tampered, or a reply to another message)",
    );
  }
  try {
    return { domain: head, plaintext: unpad(padded, undefined, REPLY_MIN_BUCKET) };
  } catch (error) {
    if (error instanceof PaddingError) throw new WireError("bad_padding", error.reason);
    throw error;
  }
}
