// What the enclave seals back to a user: a command's receipt, a query's answer, and the precise
// reason of a refusal decided after opening, each under the response key the user put inside the
// signed message (src/protocol/reply-envelope.ts): one AEAD, bound to the message's digest. Only
// enclaves and the user know that key (it travels inside sealed commands and batches), so only an
// enclave can make a reply that opens, and the user's signature commits to the key.
import { type Hex, hexToBytes } from "viem";
import type { LedgerDomain } from "../protocol/digests.js";
import {
  type CommandReceipt,
  encodeCommandReceipt,
  encodeQueryAnswer,
  type QueryAnswer,
  refusalReason,
} from "../protocol/receipts.js";
import { type ReplyKind, sealReply } from "../protocol/reply-envelope.js";
import { U64_MAX, WireError } from "../protocol/wire.js";
import { CommandRejected, type ReplyTo } from "./signed-messages.js";

/** The sequence of a sealed refusal's receipt: never a ledger position. */
export const REFUSED_SEQUENCE = U64_MAX;

function sealTo(
  { responseKey, digest }: ReplyTo,
  kind: ReplyKind,
  domain: LedgerDomain,
  plaintext: Uint8Array,
): Uint8Array {
  try {
    return sealReply({ kind, domain, digest, responseKey: hexToBytes(responseKey), plaintext });
  } catch (error) {
    // Too large for the largest bucket (a query result): refused, with a reason that fits.
    if (error instanceof WireError && error.code === "too_large")
      throw new CommandRejected("too_large", error.reason);
    throw error;
  }
}

/** Seals a command's receipt under the user's response key, bound to the command's id. */
export function sealReceipt(responseKey: Hex, receipt: CommandReceipt, domain: LedgerDomain): Uint8Array {
  return sealTo({ responseKey, digest: receipt.command }, "receipt", domain, encodeCommandReceipt(receipt));
}

/** Seals a query's answer under the user's response key, bound to the query's digest. */
export function sealQueryAnswer(responseKey: Hex, answer: QueryAnswer, domain: LedgerDomain): Uint8Array {
  return sealTo({ responseKey, digest: answer.query }, "queryAnswer", domain, encodeQueryAnswer(answer));
}

/**
 * Seals a refusal decided after opening to the sender it names, as a reply of its own kind (a
 * refusal never opens as a receipt or an answer): a failed receipt with sequence 2^64−1 for a
 * command, a rejected answer for a query, the reason `code: detail` (the precise code the host never
 * sees).
 */
export function sealRefusal(
  kind: "command" | "query",
  refusal: CommandRejected,
  replyTo: ReplyTo,
  domain: LedgerDomain,
): Uint8Array {
  const reason = refusalReason(refusal.code, refusal.reason);
  const { digest } = replyTo;
  return kind === "command"
    ? sealTo(
        replyTo,
        "commandRefusal",
        domain,
        encodeCommandReceipt({ command: digest, sequence: REFUSED_SEQUENCE, status: "failed", reason }),
      )
    : sealTo(
        replyTo,
        "queryRefusal",
        domain,
        encodeQueryAnswer({ query: digest, status: "rejected", reason }),
      );
}
