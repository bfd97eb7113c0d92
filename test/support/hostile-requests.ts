// Hostile requests to a node's API that need nothing of the network: bodies it cannot read or of the
// wrong shape, envelopes of garbage bytes, bodies and URLs over its limits, routes and parameters it
// does not have, admin calls without its token, and waiting requests for nothing; each with the
// codes the node may refuse it with. Tests add what needs their network (replays, real commands).
import { randomBytes } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import { ENVELOPE_BODY_LIMIT } from "../../src/host/api/api.js";
import { MAX_STATUS_WAIT_MS } from "../../src/host/commands/command-status.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../../src/protocol/envelope.js";
import type { FloodKind } from "./flood.js";
import type { RawRequest } from "./raw-client.js";

/** Over Node's 16 KiB limit on a request's head (its URL and headers). */
const HUGE_URL_CHARS = 20_000;
/** A chunked upload's chunk: the upload passes the body limit after a few dozen of them. */
const UPLOAD_CHUNK_BYTES = 16 * 1024;
/** Random bytes of an envelope's usual size: a garbage envelope the enclave must open to refuse. */
const GARBAGE_ENVELOPE_BYTES = 700;

export const envelopeBody = (envelope: string) => JSON.stringify({ envelope });
export const randomHex = (bytes: number): Hex => bytesToHex(randomBytes(bytes));
export const post = (path: string, body: string, contentType = "application/json"): RawRequest => ({
  method: "POST",
  path,
  headers: { "content-type": contentType },
  body,
});
/** The longest wait a node holds a request for. */
export const LONGEST_WAIT = `?wait=${MAX_STATUS_WAIT_MS}`;

/** What the enclave refuses an envelope of garbage bytes with, from its public bytes. */
const ENCLAVE_REFUSALS = ["malformed", "too_large", "unsupported_version", "wrong_kind", "wrong_domain"];
/** ...or once it tried to open it. */
const REFUSALS_OF_GARBAGE = [...ENCLAVE_REFUSALS, "undecryptable", "refused"];
const id = () => randomHex(32);

export const MALFORMED_REQUESTS: readonly FloodKind[] = [
  // Bodies the API cannot read.
  {
    name: "malformed JSON",
    codes: ["invalid_json"],
    request: () => post("/v1/commands", '{"envelope": "0x'),
  },
  { name: "empty JSON", codes: ["invalid_json"], request: () => post("/v1/queries", "") },
  {
    name: "XML",
    codes: ["unsupported_media_type"],
    request: () => post("/v1/commands", "<envelope/>", "application/xml"),
  },
  {
    name: "form",
    codes: ["unsupported_media_type"],
    request: () => post("/v1/queries", "envelope=0x00", "application/x-www-form-urlencoded"),
  },
  {
    name: "text",
    codes: ["invalid_request"],
    request: () => post("/v1/commands", envelopeBody("0x00"), "text/plain"),
  },
  // Bodies of the wrong shape.
  { name: "array", codes: ["invalid_request"], request: () => post("/v1/commands", "[1,2]") },
  { name: "null", codes: ["invalid_request"], request: () => post("/v1/queries", "null") },
  { name: "number", codes: ["invalid_request"], request: () => post("/v1/commands", '{"envelope":5}') },
  {
    name: "no envelope",
    codes: ["invalid_request"],
    request: () => post("/v1/commands", '{"env":"0x00"}'),
  },
  {
    name: "odd hex",
    codes: ["invalid_request"],
    request: () => post("/v1/commands", envelopeBody("0x123")),
  },
  {
    name: "not hex",
    codes: ["invalid_request"],
    request: () => post("/v1/queries", envelopeBody("0xzz")),
  },
  {
    name: "empty hex",
    codes: ["invalid_request"],
    request: () => post("/v1/commands", envelopeBody("0x")),
  },
  {
    name: "envelope too long",
    codes: ["invalid_request"],
    request: () => post("/v1/commands", envelopeBody(randomHex(MAX_SEALED_MESSAGE_BYTES + 1))),
  },
  // Envelopes of garbage bytes: the enclave refuses them by their public bytes.
  {
    name: "short envelope",
    codes: ENCLAVE_REFUSALS,
    request: () => post("/v1/commands", envelopeBody(randomHex(3))),
  },
  {
    name: "garbage envelope",
    codes: REFUSALS_OF_GARBAGE,
    request: () => post("/v1/commands", envelopeBody(randomHex(GARBAGE_ENVELOPE_BYTES))),
  },
  {
    name: "garbage query",
    codes: REFUSALS_OF_GARBAGE,
    request: () => post("/v1/queries", envelopeBody(randomHex(GARBAGE_ENVELOPE_BYTES))),
  },
  // Bodies over the limit, whole or in chunks.
  {
    name: "huge body",
    codes: ["body_too_large"],
    request: () => post("/v1/commands", `{"envelope":"0x${"0".repeat(ENVELOPE_BODY_LIMIT)}"}`),
  },
  {
    name: "chunked huge body",
    codes: ["body_too_large"],
    request: () => ({
      method: "POST",
      path: "/v1/queries",
      headers: { "content-type": "application/json" },
      chunks: { bytes: UPLOAD_CHUNK_BYTES, count: Math.ceil(ENVELOPE_BODY_LIMIT / UPLOAD_CHUNK_BYTES) + 2 },
    }),
  },
  {
    name: "body to rotate",
    codes: ["body_too_large", "admin_token_required"],
    request: () => post("/v1/group/rotate", JSON.stringify({ pad: "x".repeat(4096) })),
  },
  // Routes and parameters that are not the API's.
  { name: "unknown route", codes: ["route_not_found"], request: () => ({ path: "/v1/nothing" }) },
  {
    name: "wrong method",
    codes: ["route_not_found"],
    request: () => ({ method: "DELETE", path: "/v1/commands" }),
  },
  { name: "bad URL", codes: ["bad_url"], request: () => ({ path: "/v1/commands/%zz" }) },
  {
    // Past what Node's HTTP parser reads of a request's head: refused before any route, connection closed.
    name: "huge URL",
    codes: ["headers_too_large"],
    request: () => ({ path: `/v1/commands/${"a".repeat(HUGE_URL_CHARS)}` }),
  },
  { name: "bad id", codes: ["invalid_request"], request: () => ({ path: "/v1/commands/0x1234" }) },
  { name: "unknown id", codes: ["not_found"], request: () => ({ path: `/v1/commands/${id()}` }) },
  { name: "unknown snapshot", codes: ["not_found"], request: () => ({ path: `/v1/snapshots/${id()}` }) },
  ...["-1", "abc", "1e400", "99999999", "1&wait=2", ""].map((value) => ({
    name: `?wait=${value}`,
    codes: ["invalid_request"],
    request: () => ({ path: `/v1/commands/${id()}?wait=${value}` }),
  })),
  // Admin calls without the node's token.
  {
    name: "rotate without token",
    codes: ["admin_token_required"],
    request: () => ({ method: "POST", path: "/v1/group/rotate" }),
  },
  {
    name: "leave with a wrong token",
    codes: ["admin_token_wrong"],
    request: () => ({
      method: "POST",
      path: "/v1/group/leave",
      headers: { authorization: `Bearer ${randomBytes(32).toString("hex")}` },
    }),
  },
];

/** Waiting requests that wait for nothing: an id nobody sent, an envelope the enclave refuses. */
export const WAITING_ON_NOTHING: readonly FloodKind[] = [
  {
    name: "waiting for an unknown id",
    codes: ["waiting_full", "not_found"],
    request: () => ({ path: `/v1/commands/${id()}${LONGEST_WAIT}` }),
  },
  {
    name: "waiting on garbage",
    codes: ["waiting_full", ...REFUSALS_OF_GARBAGE],
    request: () => post(`/v1/commands${LONGEST_WAIT}`, envelopeBody(randomHex(GARBAGE_ENVELOPE_BYTES))),
  },
];

/** `kind` with every request claiming, by `X-Forwarded-For`, to come from `address`. */
export const claimingToBe =
  (address: string) =>
  (kind: FloodKind): FloodKind => ({
    ...kind,
    request: async () => {
      const req = await kind.request();
      return { ...req, headers: { ...req.headers, "x-forwarded-for": address } };
    },
  });
