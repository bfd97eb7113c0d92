// A command or query as the enclave receives it: open the HPKE envelope, decode the signed message
// strictly, check its domain, its app and the user's EIP-712 signature (signature-check.ts), and, for
// a query, its age. The replies go back through replies.ts; whether a command may take its sender's
// next place is the ledger's decision (`admit` in confidential-ledger.ts). Runs inside the enclave.
//
// Refusals: a `CommandRejected` says at which stage it was decided. `envelope`: before decryption,
// from the envelope's size and clear header or because it does not open — it may cross the host in
// clear. `content`: after opening (padding, decoding, domain and app signed, signature, nonce,
// params, query age) — it crosses as `refused`, and once the message is decoded it names whom to
// seal its precise reason to (`replyTo`: the response key and the message's digest).
// The digest is computed over the response key's commitment (src/protocol/eip712.ts), so the
// signature binds the key a reply is sealed under.
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";
import type { JsonObject } from "../app/canonical.js";
import type { CommandRejectionCode } from "../boundary/refusal-codes.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { commandDigest, queryDigest } from "../protocol/eip712.js";
import { MAX_SEALED_MESSAGE_BYTES, openEnvelope } from "../protocol/envelope.js";
import { decodeSignedCommand, decodeSignedQuery, sameDomain, WireError } from "../protocol/wire.js";
import type { SignatureCheck } from "./signature-check.js";

/** Whether a refusal was decided from the envelope's public bytes, or after it was opened. */
export type RefusalStage = "envelope" | "content";

/** What a refusal's reason is sealed under: the decoded message's response key, and its digest. */
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
  /** The user's secret key (32 bytes) the receipt is sealed under: never leaves the enclave in clear. */
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
  /** This enclave's signature checks (its context's). */
  signatures: SignatureCheck;
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
    // Sealed to the sender alone, like every refusal after opening: it may name both apps.
    throw new CommandRejected(
      "wrong_app",
      `signed for app ${JSON.stringify(app)}; this enclave runs ${JSON.stringify(options.app)}`,
    );
  }
}

/**
 * Checks a decoded message's domain, app and signature, then makes its verified form from the
 * signer; any refusal among these (or in `make`) names whom its reason is sealed to.
 */
function verifiedBy<T>(
  signed: { domain: LedgerDomain; app: string; signature: Hex; signerKey: Hex; responseKey: Hex },
  digest: Uint8Array,
  domain: LedgerDomain,
  options: OpenOptions,
  make: (sender: Address) => T,
): T {
  return replyingTo({ responseKey: signed.responseKey, digest: bytesToHex(digest) }, () => {
    checkScope(signed.domain, signed.app, domain, options);
    return make(
      options.signatures.verify(digest, hexToBytes(signed.signature), hexToBytes(signed.signerKey)),
    );
  });
}

/**
 * Verifies a signed command's bytes (from an envelope or from a batch): strict decode, domain, app,
 * signature. Whether it takes its sender's next place is the ledger's decision (`admit`, `applyBatch`).
 */
export function verifySignedCommand(
  domain: LedgerDomain,
  encoded: Uint8Array,
  options: OpenOptions,
): VerifiedCommand {
  let signed: ReturnType<typeof decodeSignedCommand>;
  try {
    signed = decodeSignedCommand(encoded);
  } catch (error) {
    rejectWire(error);
  }
  // The digest is computed over the enclave's own domain, never the one the message claims.
  const digest = commandDigest(domain, signed);
  return verifiedBy(signed, digest, domain, options, (sender) => ({
    sender,
    app: signed.app,
    name: signed.command,
    params: signed.paramsValue,
    nonce: signed.nonce,
    responseKey: signed.responseKey,
    digest: bytesToHex(digest),
    encoded,
  }));
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
  options: OpenOptions,
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
  options: OpenOptions,
): Promise<VerifiedQuery> {
  const plaintext = await openSealed("query", hpkePrivateKey, domain, sealed);
  let signed: ReturnType<typeof decodeSignedQuery>;
  try {
    signed = decodeSignedQuery(plaintext);
  } catch (error) {
    rejectWire(error);
  }
  const digest = queryDigest(domain, signed);
  return verifiedBy(signed, digest, domain, options, (sender) => {
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
 * Query freshness. Queries do not consume the command nonce (reads must not block or be blocked by
 * writes), so they carry their signing time instead. A replayed query gains the host nothing: the
 * answer is sealed under the response key the user signed. The window only bounds how long a signed
 * query stays usable. `now` should be the enclave's best time (e.g. the latest block timestamp it
 * has applied); a host that lies about time can only widen the window, not read anything.
 */
export function checkQueryTime(issuedAt: bigint, now: bigint): void {
  if (issuedAt > now + MAX_QUERY_CLOCK_SKEW_SECONDS) {
    throw new CommandRejected("future_query", "query is signed in the future");
  }
  if (now - issuedAt > MAX_QUERY_AGE_SECONDS) throw new CommandRejected("stale_query", "query is too old");
}
