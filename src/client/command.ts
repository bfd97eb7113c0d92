// The client's side of commands and queries, pure (no network): sign as EIP-712 typed data with the
// user's Ethereum key, with a fresh secret response key inside; seal to the enclave's HPKE key; and
// open the receipt or answer that comes back sealed under that key (src/protocol/reply-envelope.ts).
//
// Imports only pure shared modules: src/app/canonical.ts, src/protocol/{wire,envelope}.ts and the ledger domain
// type. The enclave HPKE key must come from the contract (never from the host that relays).
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Address, bytesToHex, type Hex, hexToBytes, type LocalAccount } from "viem";
import { canonicalJson } from "../app/canonical.js";
import type { LedgerDomain } from "../protocol/digests.js";
import {
  COMMAND_TYPES,
  type CommandMessage,
  commandDigest,
  eip712Domain,
  QUERY_TYPES,
  type QueryMessage,
  queryDigest,
  type SignedCommand,
  type SignedQuery,
  typedCommand,
  typedQuery,
} from "../protocol/eip712.js";
import { sealEnvelope } from "../protocol/envelope.js";
import {
  type CommandReceipt,
  decodeCommandReceipt,
  decodeQueryAnswer,
  parseRefusalReason,
  type QueryAnswer,
} from "../protocol/receipts.js";
import {
  generateResponseKey,
  MAX_REPLY_ENVELOPE_BYTES,
  openReply,
  type ReplyKind,
} from "../protocol/reply-envelope.js";
import {
  COMPACT_SIGNATURE_BYTES,
  encodeSignedCommand,
  encodeSignedQuery,
  SIGNER_KEY_BYTES,
  U64_MAX,
  WireError,
} from "../protocol/wire.js";

export { type CommandReceipt, type QueryAnswer, type SignedCommand, type SignedQuery, WireError };

/** Largest receipt or answer envelope the client opens: one in the largest padding bucket (1 MiB). */
export const MAX_ANSWER_ENVELOPE_BYTES = MAX_REPLY_ENVELOPE_BYTES;
const MS_PER_SECOND = 1000;
/** Stand-ins for the signature while checking, before signing, that the message can be carried. */
const UNSIGNED = {
  signerKey: bytesToHex(new Uint8Array(SIGNER_KEY_BYTES)),
  signature: bytesToHex(new Uint8Array(COMPACT_SIGNATURE_BYTES)),
};
const ADDRESS_OFFSET_IN_HASH = 12;

/** The EIP-712 domain commands and queries are signed under (what a wallet shows). */
export const EIP712_DOMAIN = (chainId: number, contract: Address) => eip712Domain({ chainId, contract });

export type CommandRequest = {
  app: string;
  command: string;
  /** A JSON object; bigints are written as decimal strings (the schema `uint` reads them back). */
  params: Readonly<Record<string, unknown>>;
  /** The sender's next nonce: 0 for their first command, then one more each time. */
  nonce: bigint;
};

export type QueryRequest = {
  app: string;
  query: string;
  params: Readonly<Record<string, unknown>>;
  /** Unix seconds; defaults to now. The enclave answers queries signed in the last few minutes. */
  issuedAt?: bigint;
};

/** A signed message and what the client keeps to read the answer: its response key. */
export type Signed<T> = {
  signed: T;
  /** EIP-712 digest: the message's identity; the receipt names it. */
  digest: Hex;
  /**
   * The secret key (32 bytes) the receipt or answer opens with; it travels only inside the sealed
   * message. Keep it until then; never send it otherwise.
   */
  responseKey: Uint8Array;
};

/** Canonical JSON of a params object (arrays and other values are not params). */
function paramsJson(params: Readonly<Record<string, unknown>>): string {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new WireError("malformed", "params must be a JSON object");
  }
  try {
    return canonicalJson(params);
  } catch (error) {
    throw new WireError("malformed", `params: ${(error as Error).message}`);
  }
}

/** The signer's compressed public key and r ‖ s (low s) from viem's 65-byte r ‖ s ‖ v signature. */
function splitSignature(account: LocalAccount, signature: Hex): { signerKey: Hex; signature: Hex } {
  const point = secp256k1.Point.fromBytes(hexToBytes(account.publicKey));
  const derived = bytesToHex(keccak_256(point.toBytes(false).subarray(1)).subarray(ADDRESS_OFFSET_IN_HASH));
  if (derived !== account.address.toLowerCase())
    throw new Error("account public key does not match its address");
  const rs = hexToBytes(signature).subarray(0, COMPACT_SIGNATURE_BYTES);
  // viem signs with low s already; normalizing keeps any other LocalAccount acceptable to the enclave.
  const parsed = secp256k1.Signature.fromBytes(rs, "compact");
  const normalized = parsed.hasHighS()
    ? new secp256k1.Signature(parsed.r, secp256k1.Point.Fn.neg(parsed.s)).toBytes("compact")
    : rs;
  return { signerKey: bytesToHex(point.toBytes(true)), signature: bytesToHex(normalized) };
}

/**
 * The signature over an EIP-712 digest: an account holding its key signs the digest we computed
 * (the bytes `signTypedData` would hash to, without hashing them again); any other account, such
 * as a wallet that shows the user what they sign, signs the typed data itself.
 */
function signTypedDigest(account: LocalAccount, digest: Uint8Array, typed: () => Promise<Hex>): Promise<Hex> {
  return account.sign ? account.sign({ hash: bytesToHex(digest) }) : typed();
}

/** Signs a command as EIP-712 typed data, with a fresh response key for its receipt. */
export async function signCommand(
  account: LocalAccount,
  domain: LedgerDomain,
  request: CommandRequest,
): Promise<Signed<SignedCommand>> {
  const responseKey = generateResponseKey();
  const message: CommandMessage = {
    app: request.app,
    command: request.command,
    params: paramsJson(request.params),
    nonce: request.nonce,
    responseKey: bytesToHex(responseKey),
  };
  // Fail here, not at the enclave, if it cannot be carried (names, sizes, nonce range).
  encodeSignedCommand({ ...message, domain, ...UNSIGNED });
  const digest = commandDigest(domain, message);
  const signature = await signTypedDigest(account, digest, () =>
    account.signTypedData({
      domain: eip712Domain(domain),
      types: COMMAND_TYPES,
      primaryType: "Command",
      message: typedCommand(message),
    }),
  );
  const signed: SignedCommand = { ...message, domain, ...splitSignature(account, signature) };
  return { signed, digest: bytesToHex(digest), responseKey };
}

/** Seals a signed command to the enclave's HPKE public key (32-byte X25519, read from the contract). */
export async function sealCommand(signed: SignedCommand, enclaveHpkePublicKey: Hex): Promise<Uint8Array> {
  return sealEnvelope({
    kind: "command",
    domain: signed.domain,
    recipientPublicKey: hexToBytes(enclaveHpkePublicKey),
    plaintext: encodeSignedCommand(signed),
  });
}

/** Signs a query (queries are signed too, so the enclave knows who asks; they use no nonce). */
export async function signQuery(
  account: LocalAccount,
  domain: LedgerDomain,
  request: QueryRequest,
): Promise<Signed<SignedQuery>> {
  const responseKey = generateResponseKey();
  const message: QueryMessage = {
    app: request.app,
    query: request.query,
    params: paramsJson(request.params),
    issuedAt: request.issuedAt ?? BigInt(Math.floor(Date.now() / MS_PER_SECOND)),
    responseKey: bytesToHex(responseKey),
  };
  encodeSignedQuery({ ...message, domain, ...UNSIGNED });
  const digest = queryDigest(domain, message);
  const signature = await signTypedDigest(account, digest, () =>
    account.signTypedData({
      domain: eip712Domain(domain),
      types: QUERY_TYPES,
      primaryType: "Query",
      message: typedQuery(message),
    }),
  );
  const signed: SignedQuery = { ...message, domain, ...splitSignature(account, signature) };
  return { signed, digest: bytesToHex(digest), responseKey };
}

export async function sealQuery(signed: SignedQuery, enclaveHpkePublicKey: Hex): Promise<Uint8Array> {
  return sealEnvelope({
    kind: "query",
    domain: signed.domain,
    recipientPublicKey: hexToBytes(enclaveHpkePublicKey),
    plaintext: encodeSignedQuery(signed),
  });
}

/**
 * What the client expects a reply to be about: the message it asked about (its digest, which the
 * reply is bound to), and the domain it serves. A mismatch throws `WireError`.
 */
export type Expected = { domain?: LedgerDomain; digest: Hex };

/** Opens a reply of `kind` to the message `expected` names, under its response key. */
function openReplyTo(
  kind: ReplyKind,
  responseKey: Uint8Array,
  sealed: Uint8Array,
  expected: Expected,
): { domain: LedgerDomain; plaintext: Uint8Array } {
  if (sealed.length > MAX_ANSWER_ENVELOPE_BYTES)
    throw new WireError("too_large", `a reply exceeds ${MAX_ANSWER_ENVELOPE_BYTES} bytes`);
  return openReply({ kind, domain: expected.domain, digest: expected.digest, responseKey, envelope: sealed });
}

/** The message a reply names must be the one it opened for (the AEAD binds it; this checks the encoding). */
function checkNames(named: Hex, expected: Expected): void {
  if (named.toLowerCase() !== expected.digest.toLowerCase())
    throw new WireError("malformed", "answer is for another message");
}

/** Opens a receipt sealed under the command's response key. Throws `WireError`. */
export async function openReceipt(
  responseKey: Uint8Array,
  sealedReceipt: Uint8Array,
  expected: Expected,
  kind: "receipt" | "commandRefusal" = "receipt",
): Promise<CommandReceipt & { domain: LedgerDomain }> {
  const { domain, plaintext } = openReplyTo(kind, responseKey, sealedReceipt, expected);
  const receipt = decodeCommandReceipt(plaintext);
  checkNames(receipt.command, expected);
  return { ...receipt, domain };
}

/** Opens a query answer sealed under the query's response key. Throws `WireError`. */
export async function openQueryResult(
  responseKey: Uint8Array,
  sealedAnswer: Uint8Array,
  expected: Expected,
  kind: "queryAnswer" | "queryRefusal" = "queryAnswer",
): Promise<QueryAnswer & { domain: LedgerDomain }> {
  const { domain, plaintext } = openReplyTo(kind, responseKey, sealedAnswer, expected);
  const answer = decodeQueryAnswer(plaintext);
  checkNames(answer.query, expected);
  return { ...answer, domain };
}

/** A refusal's precise code and reason, as the enclave sealed them under the message's response key. */
export type Refusal = { code: string; reason: string };

/**
 * Opens the `sealedReason` of a refusal (the node saw only the code `refused`): a failed receipt for
 * a command, a rejected answer for a query, each a reply of the refusal's own kind. Throws
 * `WireError` if it does not open or is for another message.
 */
export async function openRefusal(
  kind: "command" | "query",
  responseKey: Uint8Array,
  sealedReason: Uint8Array,
  expected: Expected,
): Promise<Refusal> {
  let reason: string | undefined;
  if (kind === "command") {
    const receipt = await openReceipt(responseKey, sealedReason, expected, "commandRefusal");
    // A refusal was never ordered: a receipt of an ordered command is not one.
    if (receipt.sequence === U64_MAX) reason = receipt.reason;
  } else {
    const answer = await openQueryResult(responseKey, sealedReason, expected, "queryRefusal");
    if (answer.status === "rejected") reason = answer.reason;
  }
  if (reason === undefined) throw new WireError("malformed", "not a sealed refusal");
  return { code: parseRefusalReason(reason).code, reason };
}
