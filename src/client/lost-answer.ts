// A submission whose answer may have been lost after the node took the command: the connection
// dropped, or a 503 came from a proxy or from a node whose enclave exited under the request (a VM's
// enclave keeps running and may have queued it). The command may then apply, so the client must not
// give up on it, and never signs the same intent anew with another nonce (it would apply twice): it
// asks the node for the command by id, again while the node is still "not now" (node-retry.ts
// bounds), and goes on with the node's answer if the node knows it. The enclave answers a resend of
// the same bytes alike (src/enclave/calls/resend.test.ts); the lost answer is what this recovers
// (test/faults/lost-answer.test.ts).
import { AnonifyClientError } from "./errors.js";
import type { NodeCommand } from "./node-api.js";
import type { Ask } from "./node-retry.js";

/**
 * Codes that do not say whether the node took the command: its enclave exited under the request (or
 * was being replaced), or a proxy answered in its place (a bare 5xx, no node's JSON).
 */
const UNDECIDED_CODES: ReadonlySet<string> = new Set([
  "enclave_restarting",
  "http_502",
  "http_503",
  "http_504",
]);

/** Whether `error` leaves open that the node took the request (its answer lost on the way back). */
export function answerMayBeLost(error: unknown): boolean {
  if (error instanceof AnonifyClientError) return UNDECIDED_CODES.has(error.code);
  // fetch rejects with a TypeError when no HTTP answer came at all (refused, reset, dropped).
  return error instanceof TypeError;
}

/**
 * After a command's submission failed with `error`: the node's answer about the command if the
 * answer may have been lost and the node knows the command (`askStatus`, asked again while the node
 * is not reachable, within the retry policy's bounds); undefined if the node does not know it, the
 * failure says the node did not take it, or the node cannot tell — the caller's failure stands.
 */
export async function knownAfterLoss(
  error: unknown,
  askStatus: (ask: Ask) => Promise<NodeCommand>,
): Promise<NodeCommand | undefined> {
  if (!answerMayBeLost(error)) return undefined;
  try {
    return await askStatus({ retryWhen: answerMayBeLost });
  } catch (asked) {
    // `not_found`, or still no answer: the submission's own failure is what the caller hears.
    if (asked instanceof AnonifyClientError || answerMayBeLost(asked)) return undefined;
    throw asked;
  }
}
