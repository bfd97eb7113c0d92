// The client's side of a node's REST API: JSON requests whose refusals become named errors, and the
// check that a node serves the chain and contract of the user's own network profile.
import {
  address,
  array,
  hex,
  type Infer,
  int,
  nullable,
  object,
  oneOf,
  optional,
  ParamError,
  type Schema,
  string,
} from "../app/schema.js";
import { COMMAND_STATUSES } from "../protocol/receipts.js";
import { MAX_REPLY_ENVELOPE_BYTES } from "../protocol/reply-envelope.js";
import { AnonifyClientError } from "./errors.js";
import type { ChainTarget } from "./network-profile-format.js";

const MS_PER_SECOND = 1_000;
const DIGEST_BYTES = 32;
const ADDRESS_BYTES = 20;
/** A sealed refusal reason is a receipt or answer envelope. */
const MAX_SEALED_REASON_BYTES = MAX_REPLY_ENVELOPE_BYTES;

/** The longest error code and message a client takes from a node (a flood's junk is not worth more). */
const MAX_CODE_CHARS = 64;
const MAX_MESSAGE_CHARS = 2_000;

/** The node API's one error shape, as far as the client reads it. */
const NODE_ERROR = object(
  {
    code: optional(string({ maxLength: MAX_CODE_CHARS })),
    message: optional(string({ maxLength: MAX_MESSAGE_CHARS })),
    sealedReason: optional(hex({ max: MAX_SEALED_REASON_BYTES })),
  },
  { unknownFields: "drop" },
);

/**
 * A request to a node, its answer parsed by `schema` (the node is trusted for nothing: an answer
 * that is not what the route says is `malformed`, never a value of the wrong shape), its refusal an
 * `AnonifyClientError` with the node's code.
 */
export async function nodeJson<T>(
  fetcher: typeof globalThis.fetch,
  node: string,
  path: string,
  schema: Schema<T>,
  init?: RequestInit,
): Promise<T> {
  const res = await fetcher(new URL(path, node), {
    ...init,
    headers: init?.body ? { "content-type": "application/json" } : undefined,
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A proxy's error page, or a server that is no Anonify node: named, not a SyntaxError.
    throw new AnonifyClientError(
      res.ok ? "malformed" : `http_${res.status}`,
      `${node} answered ${res.status} ${res.statusText} with a body that is not JSON`,
    );
  }
  const parsed = <U>(s: Schema<U>, what: string): U => {
    try {
      return s.parse(body, what);
    } catch (error) {
      if (error instanceof ParamError)
        throw new AnonifyClientError("malformed", `${node} answered ${path} with ${error.message}`);
      throw error;
    }
  };
  if (!res.ok) {
    const refusal = parsed(NODE_ERROR, "error");
    const retryAfter = res.headers.get("retry-after");
    throw new AnonifyClientError(
      refusal.code ?? `http_${res.status}`,
      refusal.message ?? res.statusText,
      refusal.sealedReason,
      retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * MS_PER_SECOND : undefined,
    );
  }
  return parsed(schema, "answer");
}

/** A node's answer about a command: its status, and its receipt sealed to the sender. */
export const NODE_COMMAND = object(
  {
    id: hex({ min: DIGEST_BYTES, max: DIGEST_BYTES }),
    status: oneOf(COMMAND_STATUSES),
    receipt: optional(hex({ max: MAX_REPLY_ENVELOPE_BYTES })),
  },
  { unknownFields: "drop" },
);
export type NodeCommand = Infer<typeof NODE_COMMAND>;

/** A node's answer to a query: sealed to the asker. */
export const NODE_QUERY_ANSWER = object(
  { answer: hex({ max: MAX_REPLY_ENVELOPE_BYTES }) },
  { unknownFields: "drop" },
);

/**
 * The enclave a node names (the client reads its key and registration from the contract, not from
 * here), its address as the node spells it.
 */
export const NODE_ENCLAVE = object(
  { address: hex({ min: ADDRESS_BYTES, max: ADDRESS_BYTES }) },
  { unknownFields: "drop" },
);

/** What a node says of itself in `/v1/status`, as far as the client checks it. */
export const NODE_NETWORK = object(
  { chainId: int({ min: 0, max: Number.MAX_SAFE_INTEGER }), contract: address() },
  { unknownFields: "drop" },
);
export type NodeNetwork = Infer<typeof NODE_NETWORK>;

/** Far above any real group: a longer list is a lie. */
const MAX_MEMBERS = 10_000;

/** An app's name is plain and bounded (`NAME_PATTERN` in src/app/app.ts). */
const MAX_APP_NAME_CHARS = 64;
const MAX_STATE_VERSION = 2 ** 32 - 1;

/**
 * What a node says of itself in `/v1/status` that the client checks when it connects: its chain and
 * contract, its enclave's view of the group's members (checked against the chain's commitment), and
 * the app its enclave runs (checked against the app id that enclave registered with).
 */
export const NODE_STATUS = object(
  {
    chainId: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    contract: address(),
    members: array(address(), { max: MAX_MEMBERS }),
    app: object(
      {
        name: string({ maxLength: MAX_APP_NAME_CHARS }),
        codeHash: hex({ min: DIGEST_BYTES, max: DIGEST_BYTES }),
        stateVersion: int({ min: 0, max: MAX_STATE_VERSION }),
      },
      { unknownFields: "drop" },
    ),
  },
  { unknownFields: "drop" },
);

/** Far above the peers of any real network: a larger count is a lie. */
const MAX_PEERS = 10_000;

/**
 * Where a node stands with its peers for a state snapshot (`sync` in `/v1/status`): the `--peer` URLs
 * it was given, the URLs active enclaves announced on chain, and `no_peer` while it waits with neither.
 */
export const NODE_PEER_SYNC = object(
  {
    peers: int({ min: 0, max: MAX_PEERS }),
    announced: int({ min: 0, max: MAX_PEERS }),
    reason: nullable(oneOf(["no_peer"])),
  },
  { unknownFields: "drop" },
);

/** Throws `wrong_network` unless the node's status (as it sent it) names the chain id and contract of `network`. */
export function checkNodeNetwork(answer: unknown, network: ChainTarget, node: string): void {
  let status: NodeNetwork;
  try {
    status = NODE_NETWORK.parse(answer, "status");
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    throw new AnonifyClientError(
      "wrong_network",
      `the node ${node} names no chain and contract: ${error.message}`,
    );
  }
  if (status.chainId !== network.chainId || status.contract !== network.contract.toLowerCase()) {
    throw new AnonifyClientError(
      "wrong_network",
      `the node ${node} serves chain ${String(status.chainId)} and contract ${String(status.contract)}, ` +
        `not the profile's chain ${network.chainId} and contract ${network.contract}`,
    );
  }
}
