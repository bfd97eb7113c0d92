// Nodes' public `/v1/status` (the explorer reads other nodes too: their API answers it with CORS).
// A node may lie in it: its answer is parsed by the schema below (one of another shape is a
// malformed answer, shown as such, never a value of the wrong type) and shown as that node's word,
// next to what the chain says.

import {
  address,
  array,
  bool,
  decimal,
  hex,
  type Infer,
  int,
  nullable,
  object,
  type Schema,
  string,
} from "../../src/app/schema.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { nodeJson } from "../../src/client/node-api.js";
import { errorText } from "./dom.js";
import { nodesInQuery } from "./home-node.js";

/** Bounds on what a node may say: far above any real network, so only a lie meets them. */
const MAX_MEMBERS = 10_000;
const MAX_TEXT_CHARS = 4_096;
const MAX_PLATFORM_CHARS = 16;
const FINGERPRINT_BYTES = 32;
const COUNTER_BITS = 64;

const counter = () => decimal({ bits: COUNTER_BITS });
/** Controls and format characters (bidirectional overrides among them) would make a node's text read as another. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/gu;

/** A node's free text, shown with its unprintable characters replaced. */
function text(maxLength: number): Schema<string> {
  const inner = string({ maxLength });
  return { ...inner, parse: (value, path) => inner.parse(value, path).replace(UNPRINTABLE, "\uFFFD") };
}

/** The fields of `GET /v1/status` the page shows, as a node must send them. */
const NODE_STATUS = object(
  {
    enclave: address(),
    platform: text(MAX_PLATFORM_CHARS),
    chainHead: counter(),
    synced: bool(),
    epoch: nullable(counter()),
    slot: counter(),
    member: bool(),
    members: array(address(), { max: MAX_MEMBERS }),
    epochKeyFingerprint: nullable(hex({ max: FINGERPRINT_BYTES })),
    lastHandshake: nullable(
      object(
        { slot: counter(), enclave: address(), outcome: text(MAX_TEXT_CHARS) },
        { unknownFields: "drop" },
      ),
    ),
    rotationPending: bool(),
    appliedSequence: counter(),
    batches: counter(),
    queued: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  },
  { unknownFields: "drop" },
);

export type NodeStatus = Infer<typeof NODE_STATUS>;

/** Nodes the explorer watches: this page's own node, then those the user added (kept in this browser). */
const STORAGE_KEY = "anonify.nodes";

export function watchedNodes(home: string): string[] {
  const added = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]") as string[];
  return [...new Set([home, ...nodesInQuery(), ...added])];
}

export function addNode(url: string): void {
  const origin = new URL(url).origin;
  const added = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]") as string[];
  if (!added.includes(origin)) localStorage.setItem(STORAGE_KEY, JSON.stringify([...added, origin]));
}

/** A node's status, or `AnonifyClientError` (`malformed` for an answer of another shape). */
export function nodeStatus(node: string): Promise<NodeStatus> {
  return nodeJson((input, init) => fetch(input, init), node, "/v1/status", NODE_STATUS);
}

/** Why a node's status is not shown: an answer of another shape, or no answer. */
export function statusProblem(error: unknown): string {
  return error instanceof AnonifyClientError && error.code === "malformed"
    ? `a malformed answer: ${error.message}`
    : `unreachable: ${errorText(error)}`;
}
