// The enclave's side of commands and queries: open the HPKE envelope, decode the signed message
// strictly, check its domain and the user's EIP-712 signature, and seal receipts and answers back to
// the user's response key. Also the pure nonce and query-age policies. Runs inside the enclave.
//
// Refusals: a `CommandRejected` says at which stage it was decided. `envelope`: before decryption,
// from the envelope's size and clear header or because it does not open — it may cross the host in
// clear. `content`: after opening (padding, decoding, domain and app signed, signature, nonce,
// params, query age) — it crosses as `refused`, and once the message is decoded it names whom to
// seal its precise reason to (`replyTo`: the response key and the message's digest).
//
// Signature check: the envelope carries the signer's compressed public key, so the enclave verifies
// (r, s) against that key and derives the address from it instead of recovering the key from the
// signature. The same signatures are accepted (low s, over the same digest), and a signature
// verified when a command arrives is not verified again when its batch is applied on the same
// enclave (every other enclave verifies it itself).
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes } from "@noble/hashes/utils.js";
import * as ecc from "tiny-secp256k1";
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";
import type { JsonObject } from "../app/canonical.js";
import type { CommandRejectionCode } from "../boundary/calls.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { commandDigest, queryDigest } from "../protocol/eip712.js";
import { MAX_SEALED_MESSAGE_BYTES, openEnvelope, sealEnvelope } from "../protocol/envelope.js";
import {
  type CommandReceipt,
  encodeCommandReceipt,
  encodeQueryAnswer,
  type QueryAnswer,
  refusalReason,
} from "../protocol/receipts.js";
import {
  decodeSignedCommand,
  decodeSignedQuery,
  SIGNATURE_BYTES,
  SIGNER_KEY_BYTES,
  sameDomain,
  U64_MAX,
  WireError,
} from "../protocol/wire.js";

/** Whether a refusal was decided from the envelope's public bytes, or after it was opened. */
export type RefusalStage = "envelope" | "content";

/** Whom a refusal's reason is sealed to: the decoded message's response key, and its digest. */
export type ReplyTo = { responseKey: Hex; digest: Hex };

/**
 * A command or query the enclave refuses. Only a refusal of stage `envelope` may cross the host with
 * its code and reason; one of stage `content` (the default) crosses as `refused`, its reason sealed.
 */
export class CommandRejected extends Error {
  override name = "CommandRejected";
  constructor(
    readonly code: CommandRejectionCode,
    readonly reason: string,
    readonly stage: RefusalStage = "content",
    readonly replyTo?: ReplyTo,
  ) {
    super(reason);
  }
}

/** The sequence a sealed refusal receipt carries: the command was never ordered. */
export const REFUSED_SEQUENCE = U64_MAX;

/** A query is answered if signed at most this long ago (by the enclave's clock: see `checkQueryTime`). */
export const MAX_QUERY_AGE_SECONDS = 300n;
/** ...and at most this far in the future, for clients whose clock runs ahead. */
export const MAX_QUERY_CLOCK_SKEW_SECONDS = 60n;

export type VerifiedCommand = {
  /** Lower-case address of the verified signer. */
  sender: Address;
  app: string;
  name: string;
  /** The params, parsed from canonical JSON; the app's schema has not checked them yet. */
  params: JsonObject;
  nonce: bigint;
  /** The user's X25519 key the receipt is sealed to. */
  responseKey: Hex;
  /** EIP-712 digest: the command's identity (receipts name it). */
  digest: Hex;
  /** The canonical signed bytes: what goes into a batch, and what every enclave verifies again. */
  encoded: Uint8Array;
};

export type VerifiedQuery = {
  sender: Address;
  app: string;
  name: string;
  params: JsonObject;
  issuedAt: bigint;
  responseKey: Hex;
  digest: Hex;
};

export type OpenOptions = {
  /** The app this enclave runs; a message for another app is refused with `wrong_app`. */
  app?: string;
};

/** A `WireError` of the envelope: `bad_padding` is found after decrypting, everything else before. */
function rejectEnvelope(error: unknown): never {
  if (error instanceof WireError) {
    throw new CommandRejected(
      error.code,
      error.reason,
      error.code === "bad_padding" ? "content" : "envelope",
    );
  }
  throw error;
}

/** A `WireError` of the decrypted message (its strict decode): decided after opening. */
function rejectWire(error: unknown): never {
  if (error instanceof WireError) throw new CommandRejected(error.code, error.reason);
  throw error;
}

/** Runs the checks of a decoded message: a refusal among them names whom to seal its reason to. */
function replyingTo<T>(replyTo: ReplyTo, checks: () => T): T {
  try {
    return checks();
  } catch (error) {
    if (error instanceof CommandRejected && error.replyTo === undefined) {
      throw new CommandRejected(error.code, error.reason, error.stage, replyTo);
    }
    throw error;
  }
}

function checkScope(
  messageDomain: LedgerDomain,
  app: string,
  domain: LedgerDomain,
  options: OpenOptions,
): void {
  if (!sameDomain(messageDomain, domain))
    throw new CommandRejected("wrong_domain", "signed for another chain or contract");
  if (options.app !== undefined && app !== options.app) {
    throw new CommandRejected("wrong_app", `signed for app ${JSON.stringify(app)}`);
  }
}

/**
 * Verifies a signed command's bytes (from an envelope or from a batch): strict decode, domain, app,
 * signature. The nonce needs the sender's state and is checked by the caller with `checkNonce`.
 */
export function verifySignedCommand(
  domain: LedgerDomain,
  encoded: Uint8Array,
  options: OpenOptions = {},
): VerifiedCommand {
  let signed: ReturnType<typeof decodeSignedCommand>;
  try {
    signed = decodeSignedCommand(encoded);
  } catch (error) {
    rejectWire(error);
  }
  // The digest is computed over the enclave's own domain, never the one the message claims.
  const digest = commandDigest(domain, signed);
  return replyingTo({ responseKey: signed.responseKey, digest: bytesToHex(digest) }, () => {
    checkScope(signed.domain, signed.app, domain, options);
    const sender = verifyCommandSignature(digest, hexToBytes(signed.signature), hexToBytes(signed.signerKey));
    return {
      sender,
      app: signed.app,
      name: signed.command,
      params: signed.paramsValue,
      nonce: signed.nonce,
      responseKey: signed.responseKey,
      digest: bytesToHex(digest),
      encoded,
    };
  });
}

/** The plaintext of a command or query envelope sent to this enclave; a refusal names the envelope only. */
async function openSealed(
  kind: "command" | "query",
  hpkePrivateKey: Uint8Array,
  domain: LedgerDomain,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  try {
    const { plaintext } = await openEnvelope({
      kind,
      domain,
      recipientPrivateKey: hpkePrivateKey,
      envelope: sealed,
      maxBytes: MAX_SEALED_MESSAGE_BYTES,
    });
    return plaintext;
  } catch (error) {
    rejectEnvelope(error);
  }
}

/** Opens a sealed command sent to this enclave and verifies it (see `verifySignedCommand`). */
export async function openCommand(
  hpkePrivateKey: Uint8Array,
  domain: LedgerDomain,
  sealed: Uint8Array,
  options: OpenOptions = {},
): Promise<VerifiedCommand> {
  const plaintext = await openSealed("command", hpkePrivateKey, domain, sealed);
  return verifySignedCommand(domain, plaintext, options);
}

/** Opens and verifies a sealed query; `now` is the enclave's time in unix seconds (see `checkQueryTime`). */
export async function openQuery(
  hpkePrivateKey: Uint8Array,
  domain: LedgerDomain,
  sealed: Uint8Array,
  now: bigint,
  options: OpenOptions = {},
): Promise<VerifiedQuery> {
  const plaintext = await openSealed("query", hpkePrivateKey, domain, sealed);
  let signed: ReturnType<typeof decodeSignedQuery>;
  try {
    signed = decodeSignedQuery(plaintext);
  } catch (error) {
    rejectWire(error);
  }
  const digest = queryDigest(domain, signed);
  return replyingTo({ responseKey: signed.responseKey, digest: bytesToHex(digest) }, () => {
    checkScope(signed.domain, signed.app, domain, options);
    const sender = verifyCommandSignature(digest, hexToBytes(signed.signature), hexToBytes(signed.signerKey));
    checkQueryTime(signed.issuedAt, now);
    return {
      sender,
      app: signed.app,
      name: signed.query,
      params: signed.paramsValue,
      issuedAt: signed.issuedAt,
      responseKey: signed.responseKey,
      digest: bytesToHex(digest),
    };
  });
}

/**
 * Nonce policy: a sender's commands carry nonces 0, 1, 2, ... and each must be exactly the next one
 * (`expected` = the number of the sender's commands already accepted). A lower nonce is a replay; a
 * higher one means an earlier command is missing or was reordered, and waits for the client to resend.
 */
export function checkNonce(expected: bigint, nonce: bigint): void {
  if (nonce < expected)
    throw new CommandRejected("replayed_nonce", `nonce ${nonce} was used; next is ${expected}`);
  if (nonce > expected)
    throw new CommandRejected("nonce_gap", `nonce ${nonce} is ahead; next is ${expected}`);
}

/**
 * Query freshness. Queries do not consume the command nonce (reads must not block or be blocked by
 * writes), so they carry their signing time instead. A replayed query gains the host nothing: the
 * answer is sealed to the response key the user signed. The window only bounds how long a signed
 * query stays usable. `now` should be the enclave's best time (e.g. the latest block timestamp it
 * has applied); a host that lies about time can only widen the window, not read anything.
 */
export function checkQueryTime(issuedAt: bigint, now: bigint): void {
  if (issuedAt > now + MAX_QUERY_CLOCK_SKEW_SECONDS) {
    throw new CommandRejected("future_query", "query is signed in the future");
  }
  if (now - issuedAt > MAX_QUERY_AGE_SECONDS) throw new CommandRejected("stale_query", "query is too old");
}

async function sealTo(
  responseKey: Hex,
  kind: "receipt" | "queryAnswer",
  domain: LedgerDomain,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  try {
    return await sealEnvelope({ kind, domain, recipientPublicKey: hexToBytes(responseKey), plaintext });
  } catch (error) {
    if (error instanceof WireError) {
      // Too large for the largest bucket (a query result): refused, with a reason that fits.
      if (error.code === "too_large") throw new CommandRejected("too_large", error.reason);
      throw new CommandRejected("bad_response_key", error.reason);
    }
    throw error;
  }
}

/**
 * Seals a command's receipt to the user's response key. Base-mode HPKE authenticates no sender, but
 * only enclaves know the response key (it travels inside sealed commands and batches), so only an
 * enclave can make a receipt that opens. A key that cannot be sealed to (e.g. a low-order point)
 * throws `bad_response_key`: that user gets no receipt, and nothing else changes.
 */
export async function sealReceipt(
  responseKey: Hex,
  receipt: CommandReceipt,
  domain: LedgerDomain,
): Promise<Uint8Array> {
  return sealTo(responseKey, "receipt", domain, encodeCommandReceipt(receipt));
}

/** Seals a query's answer to the user's response key (see `sealReceipt`). */
export async function sealQueryAnswer(
  responseKey: Hex,
  answer: QueryAnswer,
  domain: LedgerDomain,
): Promise<Uint8Array> {
  return sealTo(responseKey, "queryAnswer", domain, encodeQueryAnswer(answer));
}

/**
 * Seals a refusal decided after opening to the sender it names: a failed receipt with sequence
 * 2^64−1 for a command, a rejected answer for a query, the reason `code: detail` (the precise code
 * the host never sees). Throws `bad_response_key` if the key cannot be sealed to.
 */
export async function sealRefusal(
  kind: "command" | "query",
  refusal: CommandRejected,
  { responseKey, digest }: ReplyTo,
  domain: LedgerDomain,
): Promise<Uint8Array> {
  const reason = refusalReason(refusal.code, refusal.reason);
  return kind === "command"
    ? sealReceipt(
        responseKey,
        { command: digest, sequence: REFUSED_SEQUENCE, status: "failed", reason },
        domain,
      )
    : sealQueryAnswer(responseKey, { query: digest, status: "rejected", reason }, domain);
}

// ---------------------------------------------------------------------------------------------
// Signature verification: the one place the enclave checks a user signature.

const DIGEST_BYTES = 32;
const ADDRESS_OFFSET_IN_HASH = 12;

/** Successful verifications remembered, keyed by sha256(digest ‖ signature ‖ key). */
export const MAX_VERIFIED_SIGNATURES = 16_384;
/** Signer keys whose address is remembered. */
export const MAX_KNOWN_SIGNERS = 4096;

const verifiedSignatures = new Map<string, Address>();
const signerAddresses = new Map<string, Address>();

export type SignatureCacheStats = { verified: number; signers: number };

/** How much the verification caches hold (for tests, benchmarks and status). */
export function signatureCacheStats(): SignatureCacheStats {
  return { verified: verifiedSignatures.size, signers: signerAddresses.size };
}

/** Forgets every cached key and verification (for tests, and for benchmarks of another enclave's work). */
export function clearSignatureCaches(): void {
  verifiedSignatures.clear();
  signerAddresses.clear();
}

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
}

function addressOf(signerKey: Uint8Array): Address {
  const id = bytesToHex(signerKey);
  const known = signerAddresses.get(id);
  if (known !== undefined) return known;
  const uncompressed =
    signerKey.length === SIGNER_KEY_BYTES && ecc.isPoint(signerKey)
      ? ecc.pointCompress(signerKey, false)
      : null;
  if (!uncompressed)
    throw new CommandRejected("bad_signature", "signer key is not a compressed secp256k1 point");
  const address = bytesToHex(
    keccak_256(uncompressed.subarray(1)).subarray(ADDRESS_OFFSET_IN_HASH),
  ) as Address;
  remember(signerAddresses, id, address, MAX_KNOWN_SIGNERS);
  return address;
}

/**
 * Checks `signature` (64 bytes r ‖ s, low s) over the 32-byte EIP-712 `digest` against `signerKey`
 * (33-byte compressed secp256k1 key) and returns the signer's lower-case address; throws
 * `CommandRejected("bad_signature")` otherwise. Swap the primitive here and only here.
 *
 * The primitive is libsecp256k1 (Bitcoin Core's library) compiled to WebAssembly (tiny-secp256k1):
 * measured here at ~3,800 verifications per second per core, against ~640 for @noble/curves, and
 * Node's OpenSSL cannot verify an EIP-712 signature (it has no Keccak-256 and always hashes the
 * message itself). libsecp256k1 refuses high-s signatures, so a malleable copy never verifies.
 */
export function verifyCommandSignature(
  digest: Uint8Array,
  signature: Uint8Array,
  signerKey: Uint8Array,
): Address {
  if (digest.length !== DIGEST_BYTES || signature.length !== SIGNATURE_BYTES) {
    throw new CommandRejected("bad_signature", "signature must be 64 bytes over a 32-byte digest");
  }
  const cacheKey = bytesToHex(sha256(concatBytes(digest, signature, signerKey)));
  const known = verifiedSignatures.get(cacheKey);
  if (known !== undefined) return known;
  const address = addressOf(signerKey);
  let valid: boolean;
  try {
    valid = ecc.verify(digest, signerKey, signature, true);
  } catch {
    valid = false; // an out-of-range r or s
  }
  if (!valid)
    throw new CommandRejected("bad_signature", "signature does not match the signer key and message");
  remember(verifiedSignatures, cacheKey, address, MAX_VERIFIED_SIGNATURES);
  return address;
}
