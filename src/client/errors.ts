// The one error the SDK throws: a stable code a caller can branch on, and a message for people.
import type { Hex } from "viem";

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
