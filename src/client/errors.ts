// The one error the SDK throws: a stable code a caller can branch on, and a message for people.
import type { Hex } from "viem";
import { parseRefusalReason } from "../protocol/receipts.js";
import { U64_MAX as UNORDERED_SEQUENCE } from "../protocol/wire.js";

export class AnonifyClientError extends Error {
  override name = "AnonifyClientError";
  constructor(
    readonly code: string,
    message: string,
    /** A refusal's reason sealed to the command's response key (the node cannot read it). */
    readonly sealedReason?: Hex,
    /** How long the node asked to be left alone before this is asked again (its `Retry-After`). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * The refusal a receipt carries, if it is one: a failed receipt with no batch and the sequence of a
 * refusal (2^64−1) names a command that was never ordered and never will be — accepted by a node whose
 * app a signed policy then upgraded away from (`upgraded`, naming the app to send it to: the nonce
 * stays free there). Its reason is `code: detail`.
 */
export function unorderedRefusal(receipt: {
  sequence: bigint;
  status: string;
  reason?: string;
  batch?: unknown;
}): AnonifyClientError | undefined {
  if (receipt.batch !== undefined || receipt.sequence !== UNORDERED_SEQUENCE || receipt.status !== "failed")
    return undefined;
  const { code, detail } = parseRefusalReason(receipt.reason ?? "");
  return new AnonifyClientError(code, detail);
}
