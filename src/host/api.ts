// The node's REST API (fastify, JSON schemas, OpenAPI generated from them at /docs/openapi.json). Errors are JSON with a
// stable code and a message; nothing secret is in any answer. Guarded against abuse: admin routes need the node's
// admin token, every client (remote address) has a request rate, waiting requests are capped, bodies are bounded.
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Address, Hex } from "viem";
import { isSettled } from "../boundary/calls.js";
import { EnclaveCallError } from "../boundary/frames.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../protocol/envelope.js";
import { ADMIN_TOKEN_FILE, checkAdminAuthorization, loadOrCreateAdminToken } from "./admin-token.js";
import { COMMAND_STATUS_SCHEMA, MAX_STATUS_WAIT_MS } from "./command-status.js";
import { type EnclaveNode, LeaveRefused } from "./node-host.js";
import { isSnapshotHash } from "./snapshot-store.js";
import { registerWebApp } from "./web-app.js";

const OPENAPI_URL = "/docs/openapi.json";
/** `GET /v1/snapshots/:hash` per client address: each answer may be megabytes. */
const SNAPSHOT_RATE = { max: 10, timeWindowMs: 10_000 };

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
};

/**
 * Generous for one client: the benchmark's senders (all on one address) reach ~175 transfers/s per
 * node, each one request, and ~200 of them wait at once.
 */
export const DEFAULT_API_LIMITS: NodeApiLimits = {
  rateLimit: { max: 300, timeWindowMs: 1_000 },
  maxWaiting: 1_024,
};

const ERROR = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" }, sealedReason: { type: "string" } },
} as const;

const STATUS = {
  type: "object",
  properties: {
    enclave: { type: "string" },
    measurement: { type: "string" },
    platform: { type: "string" },
    contract: { type: "string" },
    chainId: { type: "integer" },
    chainRpc: { type: "string", description: "the node's chain RPC as scheme://host:port only" },
    chainHead: { type: "string" },
    synced: { type: "boolean" },
    epoch: { type: ["string", "null"] },
    slot: { type: "string" },
    member: { type: "boolean" },
    removed: { type: "boolean" },
    members: { type: "array", items: { type: "string" } },
    epochKeyFingerprint: { type: ["string", "null"] },
    lastHandshake: { type: ["object", "null"], additionalProperties: true },
    rotationPending: { type: "boolean" },
    syncing: {
      type: "boolean",
      description:
        "the node joined the group after commands were applied and waits for its state snapshot: " +
        "it answers commands and queries with 503 syncing until it is installed",
    },
    appliedSequence: { type: "string" },
    batches: { type: "string" },
    skippedBatches: {
      type: "string",
      description: "batches this enclave could not open (not a member of their epoch)",
    },
    queued: { type: "integer" },
  },
} as const;

/** OpenAPI paths keyed as fastify declares them: `{id}` templates back to `:id`, in order. */
function declaredPaths<T>(paths: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [path.replace(/\{(\w+)\}/g, ":$1"), item]),
  );
}

/**
 * A URL as `scheme://host:port`: an RPC provider's URL may hold its API key in the user part, the
 * path (`/v3/KEY`) or the query, none of which a status answer may show.
 */
export function withoutCredentials(url: string): string {
  try {
    const { protocol, host } = new URL(url);
    return `${protocol}//${host}`;
  } catch {
    return "(not a URL)";
  }
}

export type NodeApiOptions = {
  node: EnclaveNode;
  contract: Address;
  chainId: number;
  chainRpc: string;
  /** The token admin routes require; by default the node's own (`<hostDir>/admin-token`, made at first start). */
  adminToken?: string;
  /** Rate and waiting limits; each omitted one is DEFAULT_API_LIMITS's. */
  limits?: Partial<NodeApiLimits>;
  /** The contract's deployment block, for the network hint pages start from (default 0). */
  deployedAtBlock?: bigint;
  /** The chain RPC browsers use, in the network hint (default: `chainRpc` as scheme://host:port). */
  publicRpcUrl?: string;
};

/** What `/v1/ready` answers: the first thing that keeps the node from serving, or `ready`. */
const READINESS = [
  "ready",
  "starting",
  "enclave_down",
  "left",
  "catching_up",
  "not_member",
  "syncing",
] as const;
type Readiness = (typeof READINESS)[number];
const READY = {
  type: "object",
  required: ["ready", "state"],
  properties: { ready: { type: "boolean" }, state: { enum: READINESS } },
} as const;

async function readinessOf(node: EnclaveNode): Promise<Readiness> {
  if (!node.registration) return "starting";
  let view: Awaited<ReturnType<EnclaveNode["groupStatus"]>>;
  try {
    view = await node.groupStatus();
  } catch {
    return "enclave_down";
  }
  if (node.hasLeft) return "left";
  // A joiner waiting for its snapshot has stopped reading the chain on purpose: say why.
  if (view.ledger.syncing !== undefined) return "syncing";
  if (!node.isSynced) return "catching_up";
  if (!view.group.member) return "not_member";
  return "ready";
}

export function buildNodeApi(options: NodeApiOptions): FastifyInstance {
  const { node, contract, chainId } = options;
  const chainRpc = withoutCredentials(options.chainRpc);
  const adminToken = options.adminToken ?? loadOrCreateAdminToken(node.hostDir);
  const limits: NodeApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  // Every route reads at most EMPTY_BODY_LIMIT bytes of a body unless it says more (the envelope routes).
  const app = Fastify({ logger: false, bodyLimit: EMPTY_BODY_LIMIT });
  // The OpenAPI document is built from the route schemas below (their `summary`, params, body and
  // answers); the routes are registered after the plugin so that it sees each of them.
  app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Anonify node API", version: "1" },
      components: { securitySchemes: { adminToken: { type: "http", scheme: "bearer" } } },
    },
    // Paths keyed as the routes declare them (`/v1/commands/:id`), the form this API's clients and
    // tests look up, rather than the plugin's `{id}`.
    transformObject: (document) => {
      if (!("openapiObject" in document)) return document.swaggerObject;
      const { openapiObject } = document;
      if (openapiObject.paths) openapiObject.paths = declaredPaths(openapiObject.paths);
      return openapiObject;
    },
  });
  // Per client = per remote address (the socket's: `trustProxy` is off, so a header cannot choose it).
  // In memory, fixed windows; the limit is checked on request, before any body is read.
  const perSecond = limits.rateLimit.timeWindowMs / 1000;
  app.register(rateLimit, {
    max: limits.rateLimit.max,
    timeWindow: limits.rateLimit.timeWindowMs,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: "rate_limited",
      message:
        `node API rate limit: at most ${context.max} requests per ${perSecond} s from one client address; ` +
        `retry after ${context.after}`,
    }),
  });
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return reply.code(413).send({
        code: "body_too_large",
        message:
          `node API body limit: at most ${request.routeOptions.bodyLimit ?? EMPTY_BODY_LIMIT} bytes on this route ` +
          `(a sealed command or query is at most ${MAX_SEALED_MESSAGE_BYTES} bytes)`,
      });
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    // Internal errors are reported by kind only: their messages may name internal data.
    const message = status < 500 ? error.message : "internal error";
    reply.code(status).send({ code: status < 500 ? (error.code ?? "bad_request") : "internal", message });
  });

  /** Admin routes: `Authorization: Bearer <the node's admin token>`, or 401 / 403 and nothing runs. */
  const adminOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    const check = checkAdminAuthorization(request.headers.authorization, adminToken);
    if (check === "missing")
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="anonify node admin"')
        .send({
          code: "admin_token_required",
          message: `node admin call: send Authorization: Bearer <the token in the node's host directory, file ${ADMIN_TOKEN_FILE}>`,
        });
    if (check === "wrong")
      return reply
        .code(403)
        .send({ code: "admin_token_wrong", message: "node admin call: the admin token is wrong" });
  };

  /** Requests waiting now for their command to be ordered. */
  let waiting = 0;
  /**
   * Runs `answer` with the wait the request asked for, while fewer than `maxWaiting` requests wait;
   * past that, 503 `waiting_full` and nothing runs (a command is not even accepted), so the client may
   * send it again later or without `?wait`.
   */
  async function withWait<T>(reply: FastifyReply, waitMs: number, answer: (waitMs: number) => Promise<T>) {
    if (waitMs <= 0) return answer(0);
    if (waiting >= limits.maxWaiting)
      return reply
        .code(503)
        .header("retry-after", "1")
        .send({
          code: "waiting_full",
          message: `node API waiting limit: at most ${limits.maxWaiting} requests wait at once; retry, or ask without ?wait`,
        });
    waiting++;
    try {
      return await answer(waitMs);
    } finally {
      waiting--;
    }
  }

  app.register(async (api) => {
    api.get(
      "/v1/health",
      {
        schema: {
          summary: "liveness",
          response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } },
        },
      },
      async () => ({ ok: true }),
    );

    api.get(
      "/v1/ready",
      {
        schema: {
          summary:
            "readiness: 200 only when the enclave answers, the node has read the chain up to its head, " +
            "its enclave is a group member with its state complete, and it has not left; else 503 naming the state",
          response: { 200: READY, 503: READY },
        },
      },
      async (_req, reply) => {
        const state = await readinessOf(node);
        return reply.code(state === "ready" ? 200 : 503).send({ ready: state === "ready", state });
      },
    );

    api.get(
      "/v1/status",
      {
        schema: {
          summary: "epoch, members, chain head, sync state, enclave",
          response: { 200: STATUS, 503: ERROR },
        },
      },
      async (_req, reply) => {
        if (!node.registration)
          return reply.code(503).send({ code: "starting", message: "the node is starting" });
        const [status, enclave, head] = await Promise.all([
          node.groupStatus(),
          node.enclaveStatus(),
          node.chainHead(),
        ]);
        const g = status.group;
        return {
          enclave: node.address,
          measurement: enclave.measurement,
          platform: enclave.platform,
          contract,
          chainId,
          chainRpc,
          chainHead: head.toString(),
          synced: node.isSynced,
          epoch: g.epoch ?? null,
          slot: g.slot,
          member: g.member,
          removed: g.removed,
          members: g.members,
          epochKeyFingerprint: g.epochKeyFingerprint ?? null,
          lastHandshake: g.lastHandshake ?? null,
          rotationPending: node.rotationPending,
          syncing: status.ledger.syncing !== undefined,
          appliedSequence: status.ledger.sequence,
          batches: status.ledger.batches,
          skippedBatches: status.ledger.skippedBatches,
          queued: status.ledger.queued + status.ledger.inFlight,
        };
      },
    );

    api.post(
      "/v1/group/rotate",
      {
        schema: {
          summary:
            "ask for a key rotation (an empty commit with a path update); admin: needs the node's admin token",
          security: [{ adminToken: [] }],
          response: {
            202: { type: "object", properties: { accepted: { type: "boolean" } } },
            401: ERROR,
            403: ERROR,
            409: ERROR,
          },
        },
        preHandler: adminOnly,
      },
      async (_req, reply) => {
        const status = await node.groupStatus();
        if (!status.group.member)
          return reply
            .code(409)
            .send({ code: "not_a_member", message: "this node's enclave is not a group member" });
        node.requestRotation();
        return reply.code(202).send({ accepted: true });
      },
    );

    api.post(
      "/v1/group/leave",
      {
        schema: {
          summary:
            "leave the network for good: the enclave signs its leave and the node sends it; the members then " +
            "remove it from the group; admin: needs the node's admin token",
          security: [{ adminToken: [] }],
          response: {
            200: {
              type: "object",
              properties: {
                enclave: { type: "string" },
                transaction: { type: "string" },
                block: { type: "string" },
              },
            },
            401: ERROR,
            403: ERROR,
            409: ERROR,
          },
        },
        preHandler: adminOnly,
      },
      async (_req, reply) => {
        const { state } = await node.onChainRecord();
        if (state !== "active")
          return reply.code(409).send({
            code: "not_active",
            message: `this node's enclave is ${state} on chain: it cannot leave`,
          });
        try {
          const left = await node.leave();
          return { ...left, block: left.block.toString() };
        } catch (error) {
          if (!(error instanceof LeaveRefused)) throw error;
          return reply.code(409).send({ code: error.code, message: error.message });
        }
      },
    );

    const HEX_BODY = {
      type: "object",
      required: ["envelope"],
      additionalProperties: false,
      properties: {
        envelope: {
          type: "string",
          pattern: "^0x([0-9a-fA-F]{2})+$",
          maxLength: 2 + 2 * MAX_SEALED_MESSAGE_BYTES,
        },
      },
    } as const;

    /** Maps an enclave refusal to HTTP: the enclave's code and message cross unchanged (they hold no secret). */
    async function enclaveCall<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | FastifyReply> {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof EnclaveCallError)) throw error;
        // Not an answer from partial state: the node is fetching its state snapshot; ask again soon.
        if (error.code === "syncing")
          return reply
            .code(503)
            .header("retry-after", "1")
            .send({ code: error.code, message: error.message });
        const status = error.code === "not_found" ? 404 : error.code === "invalid_argument" ? 400 : 422;
        return reply
          .code(status)
          .send({ code: error.code, message: error.message, sealedReason: error.sealedReason });
      }
    }

    api.get(
      "/v1/enclave",
      {
        schema: {
          summary: "this node's enclave: address, HPKE key, measurement, on-chain registration",
          response: { 503: ERROR },
        },
      },
      async (_req, reply) => {
        if (!node.registration)
          return reply.code(503).send({ code: "starting", message: "the node is starting" });
        const [enclave, record] = await Promise.all([node.enclaveStatus(), node.onChainRecord()]);
        return {
          address: node.address,
          hpkePublicKey: node.registration.hpkePublicKey,
          measurement: enclave.measurement,
          platform: enclave.platform,
          registration: record,
          note: "clients read the HPKE key from the contract, not from this answer",
        };
      },
    );

    const WAIT_QUERY = {
      type: "object",
      additionalProperties: false,
      properties: { wait: { type: "integer", minimum: 0, maximum: MAX_STATUS_WAIT_MS } },
    } as const;

    api.post<{ Body: { envelope: string }; Querystring: { wait?: number } }>(
      "/v1/commands",
      {
        schema: {
          summary:
            "submit a signed, sealed command (202 once accepted); with ?wait=ms, answered like " +
            "GET /v1/commands/{id}?wait once the command is ordered (200), or 202 when the wait ends first",
          body: HEX_BODY,
          querystring: WAIT_QUERY,
          response: {
            200: COMMAND_STATUS_SCHEMA,
            202: COMMAND_STATUS_SCHEMA,
            400: ERROR,
            410: ERROR,
            413: ERROR,
            422: ERROR,
            503: ERROR,
          },
        },
        bodyLimit: ENVELOPE_BODY_LIMIT,
      },
      async (req, reply) =>
        // A node that left batches nothing more: a command accepted now would never be ordered.
        node.hasLeft
          ? reply.code(410).send({
              code: "left",
              message: "this node's enclave left the group; send commands to another node",
            })
          : withWait(reply, req.query.wait ?? 0, (waitMs) =>
              enclaveCall(reply, async () => {
                const answer = await node.submitCommand(req.body.envelope as Hex, waitMs);
                return reply.code(isSettled(answer.status) ? 200 : 202).send(answer);
              }),
            ),
    );

    api.get<{ Params: { id: string }; Querystring: { wait?: number } }>(
      "/v1/commands/:id",
      {
        schema: {
          summary:
            "a command's status: queued, submitted, applied or failed, with its receipt sealed to the sender; " +
            "with ?wait=ms, answered once the command is ordered or the wait ends",
          params: { type: "object", properties: { id: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } } },
          querystring: WAIT_QUERY,
          response: { 200: COMMAND_STATUS_SCHEMA, 404: ERROR, 400: ERROR, 503: ERROR },
        },
      },
      async (req, reply) =>
        withWait(reply, req.query.wait ?? 0, (waitMs) =>
          enclaveCall(reply, () => node.commandStatus(req.params.id as Hex, waitMs)),
        ),
    );

    api.post<{ Body: { envelope: string } }>(
      "/v1/queries",
      {
        schema: {
          summary: "a signed, sealed query; the answer is sealed to the caller",
          body: HEX_BODY,
          response: { 400: ERROR, 413: ERROR, 422: ERROR },
        },
        bodyLimit: ENVELOPE_BODY_LIMIT,
      },
      async (req, reply) => enclaveCall(reply, () => node.query(req.body.envelope as Hex)),
    );

    api.get<{ Params: { hash: string } }>(
      "/v1/snapshots/:hash",
      {
        schema: {
          summary:
            "a state snapshot this node holds for joining nodes, by the keccak-256 hash committed on chain: " +
            "ciphertext only a group member of the join epoch opens (application/octet-stream)",
          params: {
            type: "object",
            required: ["hash"],
            additionalProperties: false,
            properties: { hash: { type: "string", pattern: "^0x[0-9a-f]{64}$" } },
          },
          response: { 400: ERROR, 404: ERROR },
        },
        // Each answer may be the whole state: a few per client and window, not the API's default rate.
        config: { rateLimit: { max: SNAPSHOT_RATE.max, timeWindow: SNAPSHOT_RATE.timeWindowMs } },
      },
      async (req, reply) => {
        const hash = req.params.hash as Hex;
        const bytes = isSnapshotHash(hash) ? node.snapshots.read(hash) : undefined;
        if (!bytes)
          return reply
            .code(404)
            .send({ code: "not_found", message: "no snapshot with this hash is held here" });
        return reply.type("application/octet-stream").send(bytes);
      },
    );

    api.get(OPENAPI_URL, { schema: { hide: true } }, async () => api.swagger());
    registerWebApp(api, {
      profile: {
        chainId,
        contract,
        deployedAtBlock: options.deployedAtBlock ?? 0n,
        rpcUrl: options.publicRpcUrl ?? chainRpc,
      },
    });
  });
  return app;
}
