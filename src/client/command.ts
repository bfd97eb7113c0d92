// The client's side of commands and queries, pure (no network): sign as EIP-712 typed data with the
// user's Ethereum key, seal to the enclave's HPKE key with a fresh one-time response key, and open
// the receipt or answer that comes back sealed to that key.
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
} from "../protocol/eip712.js";
import {
  generateX25519KeyPair,
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  sealEnvelope,
} from "../protocol/envelope.js";
import {
  type CommandReceipt,
  decodeCommandReceipt,
  decodeQueryAnswer,
  parseRefusalReason,
  type QueryAnswer,
} from "../protocol/receipts.js";
import {
  COMPACT_SIGNATURE_BYTES,
  encodeSignedCommand,
  encodeSignedQuery,
  SIGNER_KEY_BYTES,
  sameDomain,
  U64_MAX,
  WireError,
} from "../protocol/wire.js";

export { type CommandReceipt, type QueryAnswer, type SignedCommand, type SignedQuery, WireError };

/** Largest receipt or answer envelope the client opens: one in the largest padding bucket (1 MiB). */
export const MAX_ANSWER_ENVELOPE_BYTES = MAX_ENVELOPE_BYTES;
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

/** A signed message and what the client keeps to read the answer: the response private key. */
export type Signed<T> = {
  signed: T;
  /** EIP-712 digest: the message's identity; the receipt names it. */
  digest: Hex;
  /** X25519 private key (32 bytes) the receipt or answer opens with. Keep it until then; never send it. */
  responsePrivateKey: Uint8Array;
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
  const response = await generateX25519KeyPair();
  const message: CommandMessage = {
    app: request.app,
    command: request.command,
    params: paramsJson(request.params),
    nonce: request.nonce,
    responseKey: bytesToHex(response.publicKey),
  };
  // Fail here, not at the enclave, if it cannot be carried (names, sizes, nonce range).
  encodeSignedCommand({ ...message, domain, ...UNSIGNED });
  const digest = commandDigest(domain, message);
  const signature = await signTypedDigest(account, digest, () =>
    account.signTypedData({
      domain: eip712Domain(domain),
      types: COMMAND_TYPES,
      primaryType: "Command",
      message,
    }),
  );
  const signed: SignedCommand = { ...message, domain, ...splitSignature(account, signature) };
  return { signed, digest: bytesToHex(digest), responsePrivateKey: response.privateKey };
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
  const response = await generateX25519KeyPair();
  const message: QueryMessage = {
    app: request.app,
    query: request.query,
    params: paramsJson(request.params),
    issuedAt: request.issuedAt ?? BigInt(Math.floor(Date.now() / MS_PER_SECOND)),
    responseKey: bytesToHex(response.publicKey),
  };
  encodeSignedQuery({ ...message, domain, ...UNSIGNED });
  const digest = queryDigest(domain, message);
  const signature = await signTypedDigest(account, digest, () =>
    account.signTypedData({
      domain: eip712Domain(domain),
      types: QUERY_TYPES,
      primaryType: "Query",
      message,
    }),
  );
  const signed: SignedQuery = { ...message, domain, ...splitSignature(account, signature) };
  return { signed, digest: bytesToHex(digest), responsePrivateKey: response.privateKey };
}

export async function sealQuery(signed: SignedQuery, enclaveHpkePublicKey: Hex): Promise<Uint8Array> {
  return sealEnvelope({
    kind: "query",
    domain: signed.domain,
    recipientPublicKey: hexToBytes(enclaveHpkePublicKey),
    plaintext: encodeSignedQuery(signed),
  });
}

/** What the client expects an answer to be about; a mismatch throws `WireError`. */
export type Expected = { domain?: LedgerDomain; digest?: Hex };

function checkExpected(domain: LedgerDomain, digest: Hex, expected: Expected): void {
  if (expected.domain !== undefined && !sameDomain(domain, expected.domain)) {
    throw new WireError("wrong_domain", "answer is for another chain or contract");
  }
  if (expected.digest !== undefined && digest.toLowerCase() !== expected.digest.toLowerCase()) {
    throw new WireError("malformed", "answer is for another message");
  }
}

/** Opens a receipt sealed to the command's response key. Throws `WireError`. */
export async function openReceipt(
  responsePrivateKey: Uint8Array,
  sealedReceipt: Uint8Array,
  expected: Expected = {},
): Promise<CommandReceipt & { domain: LedgerDomain }> {
  const { domain, plaintext } = await openEnvelope({
    kind: "receipt",
    domain: expected.domain,
    recipientPrivateKey: responsePrivateKey,
    envelope: sealedReceipt,
    maxBytes: MAX_ANSWER_ENVELOPE_BYTES,
  });
  const receipt = decodeCommandReceipt(plaintext);
  checkExpected(domain, receipt.command, expected);
  return { ...receipt, domain };
}

/** Opens a query answer sealed to the query's response key. Throws `WireError`. */
export async function openQueryResult(
  responsePrivateKey: Uint8Array,
  sealedAnswer: Uint8Array,
  expected: Expected = {},
): Promise<QueryAnswer & { domain: LedgerDomain }> {
  const { domain, plaintext } = await openEnvelope({
    kind: "queryAnswer",
    domain: expected.domain,
    recipientPrivateKey: responsePrivateKey,
    envelope: sealedAnswer,
    maxBytes: MAX_ANSWER_ENVELOPE_BYTES,
  });
  const answer = decodeQueryAnswer(plaintext);
  checkExpected(domain, answer.query, expected);
  return { ...answer, domain };
}

/** A refusal's precise code and reason, as the enclave sealed them to the message's response key. */
export type Refusal = { code: string; reason: string };

/**
 * Opens the `sealedReason` of a refusal (the node saw only the code `refused`): a failed receipt for
 * a command, a rejected answer for a query. Throws `WireError` if it does not open or is for
 * another message.
 */
export async function openRefusal(
  kind: "command" | "query",
  responsePrivateKey: Uint8Array,
  sealedReason: Uint8Array,
  expected: Expected = {},
): Promise<Refusal> {
  let reason: string | undefined;
  if (kind === "command") {
    const receipt = await openReceipt(responsePrivateKey, sealedReason, expected);
    // A refusal was never ordered: a receipt of an ordered command is not one.
    if (receipt.sequence === U64_MAX) reason = receipt.reason;
  } else {
    const answer = await openQueryResult(responsePrivateKey, sealedReason, expected);
    if (answer.status === "rejected") reason = answer.reason;
  }
  if (reason === undefined) throw new WireError("malformed", "not a sealed refusal");
  return { code: parseRefusalReason(reason).code, reason };
}
