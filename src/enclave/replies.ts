// What the enclave seals back to a user: a command's receipt, a query's answer, and the precise
// reason of a refusal decided after opening, each to the response key the user signed. Base-mode
// HPKE authenticates no sender, but only enclaves know the response key (it travels inside sealed
// commands and batches), so only an enclave can make a reply that opens.
import { type Hex, hexToBytes } from "viem";
import type { LedgerDomain } from "../protocol/digests.js";
import { sealEnvelope } from "../protocol/envelope.js";
import {
  type CommandReceipt,
  encodeCommandReceipt,
  encodeQueryAnswer,
  type QueryAnswer,
  refusalReason,
} from "../protocol/receipts.js";
import { U64_MAX, WireError } from "../protocol/wire.js";
import { CommandRejected, type ReplyTo } from "./signed-messages.js";

/** The sequence of a sealed refusal's receipt: never a ledger position. */
export const REFUSED_SEQUENCE = U64_MAX;

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
 * Seals a command's receipt to the user's response key. A key that cannot be sealed to (e.g. a
 * low-order point) throws `bad_response_key`: that user gets no receipt, and nothing else changes.
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
