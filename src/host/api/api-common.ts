// What the node API's route groups share: its limits, the one error shape, and what each group is given.
import type { FastifyReply } from "fastify";
import type { Address } from "viem";
import { EnclaveCallError } from "../../boundary/frames.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../../protocol/envelope.js";
import { EnclaveExitedError } from "../enclave-process.js";
import type { EnclaveNode } from "../node-host.js";

/**
 * What the API needs of a node, and all it may touch: its routes serve users, operators and peers
 * through these members only (as lodestar's API takes interfaces, not the node class).
 */
export type ServedNode = Pick<
  EnclaveNode,
  | "address"
  | "hostDir"
  | "registration"
  | "isSynced"
  | "peerState"
  | "hasLeft"
  | "rotationPending"
  | "enclaveState"
  | "snapshots"
  | "groupStatus"
  | "enclaveStatus"
  | "onChainRecord"
  | "chainHead"
  | "gasBalance"
  | "warnings"
  | "followedHead"
  | "rpcOutages"
  | "counts"
  | "enclaveCalls"
  | "submitCommand"
  | "commandStatus"
  | "query"
  | "publicQuery"
  | "requestRotation"
  | "leave"
  | "metrics"
>;
/**
 * The largest body of `POST /v1/commands` and `/v1/queries`: `{"envelope":"0x…"}` around the largest
 * sealed message as hex (two digits a byte), with 64 bytes to spare for the JSON's punctuation and spaces.
 */
export const ENVELOPE_BODY_LIMIT = 2 * MAX_SEALED_MESSAGE_BYTES + 64;
/** Every other route takes no body (`POST /v1/group/rotate`): at most this much is read of one. */
export const EMPTY_BODY_LIMIT = 1024;

/**
 * What one client and all clients together may ask of a node. A client is an IPv4 address or an IPv6
 * /64, of the socket's peer or, from a trusted proxy, of the address it forwards (`client-address.ts`).
 */
export type NodeApiLimits = {
  /** At most `max` requests per client in each window of `timeWindowMs`; past it, 429 `rate_limited`. */
  rateLimit: { max: number; timeWindowMs: number };
  /** At most this many requests wait at once for their command to be ordered (`?wait`); past it, 503 `waiting_full`. */
  maxWaiting: number;
  /**
   * A request (headers and body) must have arrived this long after its connection asked for it;
   * else 408 `request_timeout` and the connection is closed, so a client that trickles bytes cannot
   * hold connections open. A `?wait` counts from the request's arrival, not in this.
   */
  requestTimeoutMs: number;
  /**
   * At most this many of them from one client (the socket's peer: a trusted proxy is exempt); one more
   * from it is closed at once.
   */
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
  node: ServedNode;
  contract: Address;
  chainId: number;
  /** The chain RPC the operator publishes, as `scheme://host:port` (`withoutCredentials`); null: none. */
  chainRpc: string | null;
  limits: NodeApiLimits;
  adminToken: string;
};

/**
 * The one table from a refusal's code (the enclave's, or the node's own) to its HTTP status. 503 is
 * "not now": with Retry-After where asking again soon helps (the state is incomplete, the enclave is
 * being replaced), without for `diverged` (this node's enclave serves nothing again until its
 * operator joins it afresh: another node serves). A code not listed is 422: the request was read and
 * refused (the enclave's code and message cross unchanged: they hold no secret).
 */
const REFUSAL_STATUS: Readonly<Record<string, { status: number; retry?: boolean }>> = {
  invalid_argument: { status: 400 },
  not_found: { status: 404 },
  not_public: { status: 404 },
  left: { status: 410 },
  syncing: { status: 503, retry: true },
  enclave_restarting: { status: 503, retry: true },
  enclave_stopped: { status: 503, retry: true },
  diverged: { status: 503 },
  // The network's app was upgraded away from this node's: a node of the new version serves.
  upgraded: { status: 503 },
};
const REFUSED_STATUS = 422;
/** Seconds a client waits before asking again after a 503 that says to. */
const RETRY_AFTER_S = "1";

/** The HTTP status a refusal of `code` is answered with (the table above). */
export const refusalStatus = (code: string): number => REFUSAL_STATUS[code]?.status ?? REFUSED_STATUS;

/** The refusal an error is, in the API's shape: the enclave's (or an exit under the request), else undefined. */
function refusalOf(error: unknown): { code: string; message: string; sealedReason?: string } | undefined {
  if (error instanceof EnclaveExitedError)
    return {
      code: "enclave_restarting",
      message: `the node's enclave exited under this request (${error.message}); retry shortly`,
    };
  if (error instanceof EnclaveCallError)
    return error.sealedReason === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, sealedReason: error.sealedReason };
  return undefined;
}

/** Whether `error` says "not now" (a 503), not that something broke. */
export const isUnavailable = (error: unknown): boolean => {
  const refusal = refusalOf(error);
  return refusal !== undefined && refusalStatus(refusal.code) === 503;
};

/**
 * Answers `error` if it is a refusal (the enclave's, or its process exiting under the request), with
 * the status the table gives its code; undefined for any other error.
 */
export function replyRefusal(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  const refusal = refusalOf(error);
  if (!refusal) return undefined;
  if (REFUSAL_STATUS[refusal.code]?.retry) reply.header("retry-after", RETRY_AFTER_S);
  return reply.code(refusalStatus(refusal.code)).send(refusal);
}

/** `replyRefusal` for "not now" refusals only (a status or admin route whose enclave call met a restart). */
export function replyUnavailable(reply: FastifyReply, error: unknown): FastifyReply | undefined {
  return isUnavailable(error) ? replyRefusal(reply, error) : undefined;
}
