// How the client waits when a node asks it to, one policy for both ways a node does: `rate_limited`
// (429: past the node's request rate for this client address) and `waiting_full` (503: no slot to
// hold one more waiting request, `?wait`). A node refuses both before it reads the request's body,
// so nothing ran, and the retry sends the same request again: for a command, the same signed and
// sealed bytes, so the same command id and nonce. It never signs again: the enclave queues a
// command id once and answers a resend of it as it answered the first (accepted, the same id:
// src/enclave/calls/resend.test.ts), and takes a sender's nonce once (`nonceRefusal`, at admission
// and again when a batch applies), so even a resend that did reach an enclave applies nothing twice;
// a command signed anew would carry another id the client does not follow. A command's answer lost
// after the node took it is asked for by id (lost-answer.ts).
import { AnonifyClientError } from "./errors.js";

export const RATE_LIMITED = "rate_limited";
export const WAITING_FULL = "waiting_full";

/** How long to leave a node alone after `waiting_full` when it names no `Retry-After`. */
const DEFAULT_WAITING_FULL_PAUSE_MS = 1_000;

/** Bounds and sources of a client's retries (`AnonifyClientOptions.retry` overrides any of them). */
export type RetryPolicy = {
  /** Requests in all, the first one included, before the client gives up. */
  maxAttempts: number;
  /** The most time spent waiting between attempts, over all of them. */
  maxWaitMs: number;
  /** The backoff before the second attempt; it doubles with each attempt, up to `maxBackoffMs`. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Uniform in [0, 1): the jitter's source. */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
};

/**
 * Ten attempts and at most 30 s of waiting: a node's window is a second by default, so a burst of a
 * few hundred requests from one address clears it in a few, and a node that keeps refusing is told
 * to the caller well before its own deadlines (a receipt's is 60 s).
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  maxWaitMs: 30_000,
  baseBackoffMs: 250,
  maxBackoffMs: 8_000,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * The pause before attempt `attempt + 1`: never shorter than the node's `Retry-After` (else half the
 * backoff), plus a uniform jitter of up to half the backoff, so that clients refused together do not
 * come back together. The backoff doubles with each attempt from `baseBackoffMs`, up to `maxBackoffMs`.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, policy: RetryPolicy): number {
  const backoff = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** (attempt - 1));
  return Math.round((retryAfterMs ?? backoff / 2) + policy.random() * (backoff / 2));
}

export type Ask = {
  /** How long the request asks the node to hold it (`?wait`); 0: no waiting request. */
  waitMs?: number;
  /**
   * After `waiting_full`, pause as long as the node asked (at most `waitMs`, which the caller meant to
   * spend waiting anyway) before asking without a wait, so that a caller asking in a loop does not spin.
   */
  pause?: boolean;
  /** Other failures asked again like `rate_limited`, within the same bounds; then the failure stands. */
  retryWhen?: (error: unknown) => boolean;
};

/**
 * `ask(waitMs)`, asked again as the node says. `rate_limited`: the same request after
 * `retryDelayMs`, until `maxAttempts` requests or `maxWaitMs` of waiting, then the node's refusal,
 * still `rate_limited`, saying the client gave up. `waiting_full` (a flood may keep every waiting
 * slot taken): `ask(0)`, which the node answers at once (the command accepted, or its status told),
 * since a client would otherwise fail under a flood what the node would do for it. A failure
 * `retryWhen` names: asked again like `rate_limited`, within the same bounds, then it stands. Any
 * other refusal stands.
 */
export async function askNode<T>(
  ask: (waitMs: number) => Promise<T>,
  { waitMs = 0, pause = false, retryWhen }: Ask,
  policy: RetryPolicy,
): Promise<T> {
  let wait = waitMs;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask(wait);
    } catch (error) {
      if (error instanceof AnonifyClientError && error.code === WAITING_FULL && wait > 0) {
        const pauseMs = pause ? Math.min(error.retryAfterMs ?? DEFAULT_WAITING_FULL_PAUSE_MS, wait) : 0;
        wait = 0;
        if (pauseMs > 0) await policy.sleep(pauseMs);
        continue;
      }
      const limited = error instanceof AnonifyClientError && error.code === RATE_LIMITED;
      if (!limited && !retryWhen?.(error)) throw error;
      const retryAfterMs = error instanceof AnonifyClientError ? error.retryAfterMs : undefined;
      const delay = retryDelayMs(attempt, retryAfterMs, policy);
      if (attempt >= policy.maxAttempts || waited + delay > policy.maxWaitMs) {
        if (!(limited && error instanceof AnonifyClientError)) throw error;
        throw new AnonifyClientError(
          RATE_LIMITED,
          `${error.message}; the client gave up after ${attempt} attempts and ${waited} ms of waiting ` +
            `(its bound: ${policy.maxAttempts} attempts, ${policy.maxWaitMs} ms)`,
          undefined,
          retryAfterMs,
        );
      }
      await policy.sleep(delay);
      waited += delay;
    }
  }
}
