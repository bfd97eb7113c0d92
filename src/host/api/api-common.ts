// What the node API's route groups share: its limits, the one error shape, and what each group is given.
import type { FastifyReply } from "fastify";
import type { Address } from "viem";
import { EnclaveCallError } from "../../boundary/frames.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../../protocol/envelope.js";
import { EnclaveExitedError } from "../enclave-process.js";
import type { EnclaveNode } from "../node-host.js";

/**
 * The largest body of `POST /v1/commands` and `/v1/queries`: `{"envelope":"0x…"}` around the largest
 * sealed message as hex (two digits a byte), with 64 bytes to spare for the JSON's punctuation and spaces.
 */
export const ENVELOPE_BODY_LIMIT = 2 * MAX_SEALED_MESSAGE_BYTES + 64;
/** Every other route takes no body (`POST /v1/group/rotate`): at most this much is read of one. */
export const EMPTY_BODY_LIMIT = 1024;

/** What one client (one remote address) and all clients together may ask of a node. */
export type NodeApiLimits = {
  /** At most `max` requests per client address in each window of `timeWindowMs`; past it, 429 `rate_limited`. */
  rateLimit: { max: number; timeWindowMs: number };
  /** At most this many requests wait at once for their command to be ordered (`?wait`); past it, 503 `waiting_full`. */
  maxWaiting: number;
  /**
   * A request (headers and body) must have arrived this long after its connection asked for it;
   * else 408 `request_timeout` and the connection is closed, so a client that trickles bytes cannot
   * hold connections open. A `?wait` counts from the request's arrival, not in this.
   */
  requestTimeoutMs: number;
  /** At most this many of them from one client address; one more from it is closed at once. */
  maxConnectionsPerAddress: number;
  /** At most this many connections at once (every client together); one more is closed at once. */
  maxConnections: number;
};

/**
 * Generous for one client: the benchmark's senders (all on one address) reach ~175 transfers/s per
 * node, each one request, and ~200 of them wait at once.
 */
export const DEFAULT_API_LIMITS: NodeApiLimits = {
  rateLimit: { max: 300, timeWindowMs: 1_000 },
  maxWaiting: 1_024,
  requestTimeoutMs: 10_000,
  // The benchmark's senders (one address) hold one connection each, ~200 at once.
  maxConnectionsPerAddress: 512,
  // Room for every waiting request and as many more clients, each on a connection of its own.
  maxConnections: 2_048,
};

export const ERROR = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" }, sealedReason: { type: "string" } },
} as const;

/** What a group of routes is given: the node, the chain it serves, the limits and the admin token. */
export type NodeRoutes = {
  node: EnclaveNode;
  contract: Address;
  chainId: number;
  /** The chain RPC as `scheme://host:port` (`withoutCredentials`). */
  chainRpc: string;
  limits: NodeApiLimits;
  adminToken: string;
};

/**
 * Refusals answered 503: "not now", with Retry-After (the state is incomplete or the enclave is being
 * replaced), and `diverged`, without (this node's enclave serves nothing again until its operator
 * joins it afresh: another node serves).
 */
const UNAVAILABLE = new Set(["syncing", "enclave_restarting", "enclave_stopped", "diverged"]);
/** Seconds a client waits before asking again after a 503. */
const RETRY_AFTER_S = "1";

/** Whether `error` says "not now" (answered 503 by `replyUnavailable`), not that something broke. */
export const isUnavailable = (error: unknown): boolean =>
  error instanceof EnclaveExitedError || (error instanceof EnclaveCallError && UNAVAILABLE.has(error.code));

/**
 * Answers 503 if `error` says the node cannot serve, naming why: the enclave is restarting (also for
 * a call that was in flight when its process died), the ledger is syncing, or the enclave diverged.
 * Undefined for any other error.
 */
export function replyUnavailable(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  const answer =
    error instanceof EnclaveExitedError
      ? {
          code: "enclave_restarting",
          message: `the node's enclave exited under this request (${error.message}); retry shortly`,
        }
      : error instanceof EnclaveCallError && UNAVAILABLE.has(error.code)
        ? { code: error.code, message: error.message }
        : undefined;
  if (!answer) return undefined;
  if (answer.code !== "diverged") reply.header("retry-after", RETRY_AFTER_S);
  return reply.code(503).send(answer);
}
