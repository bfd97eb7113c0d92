// The node's REST API (fastify, JSON schemas, OpenAPI generated from them at /docs/openapi.json). Errors are JSON with a
// stable code and a message; nothing secret is in any answer.
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { Address, Hex } from "viem";
import { isSettled } from "../boundary/calls.js";
import { EnclaveCallError } from "../boundary/frames.js";
import { COMMAND_STATUS_SCHEMA, MAX_STATUS_WAIT_MS } from "./command-status.js";
import type { EnclaveNode } from "./node-host.js";

const OPENAPI_URL = "/docs/openapi.json";

/** A sealed command or query is at most ~16 KiB. */
const MAX_ENVELOPE_BYTES = 64 * 1024;

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
    chainRpc: { type: "string" },
    chainHead: { type: "string" },
    synced: { type: "boolean" },
    epoch: { type: ["string", "null"] },
    slot: { type: "string" },
    member: { type: "boolean" },
    members: { type: "array", items: { type: "string" } },
    epochKeyFingerprint: { type: ["string", "null"] },
    lastHandshake: { type: ["object", "null"], additionalProperties: true },
    rotationPending: { type: "boolean" },
    appliedSequence: { type: "string" },
    batches: { type: "string" },
    queued: { type: "integer" },
  },
} as const;

/** OpenAPI paths keyed as fastify declares them: `{id}` templates back to `:id`, in order. */
function declaredPaths<T>(paths: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [path.replace(/\{(\w+)\}/g, ":$1"), item]),
  );
}

export type NodeApiOptions = { node: EnclaveNode; contract: Address; chainId: number; chainRpc: string };

export function buildNodeApi({ node, contract, chainId, chainRpc }: NodeApiOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  // The OpenAPI document is built from the route schemas below (their `summary`, params, body and
  // answers); the routes are registered after the plugin so that it sees each of them.
  app.register(swagger, {
    openapi: { openapi: "3.0.3", info: { title: "Anonify node API", version: "1" } },
    // Paths keyed as the routes declare them (`/v1/commands/:id`), the form this API's clients and
    // tests look up, rather than the plugin's `{id}`.
    transformObject: (document) => {
      if (!("openapiObject" in document)) return document.swaggerObject;
      const { openapiObject } = document;
      if (openapiObject.paths) openapiObject.paths = declaredPaths(openapiObject.paths);
      return openapiObject;
    },
  });
  app.setErrorHandler<FastifyError>((error, _request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    // Internal errors are reported by kind only: their messages may name internal data.
    const message = status < 500 ? error.message : "internal error";
    reply.code(status).send({ code: status < 500 ? (error.code ?? "bad_request") : "internal", message });
  });

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
          members: g.members,
          epochKeyFingerprint: g.epochKeyFingerprint ?? null,
          lastHandshake: g.lastHandshake ?? null,
          rotationPending: node.rotationPending,
          appliedSequence: status.ledger.sequence,
          batches: status.ledger.batches,
          queued: status.ledger.queued + status.ledger.inFlight,
        };
      },
    );

    api.post(
      "/v1/group/rotate",
      {
        schema: {
          summary: "ask for a key rotation (an empty commit with a path update)",
          response: { 202: { type: "object", properties: { accepted: { type: "boolean" } } }, 409: ERROR },
        },
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

    const HEX_BODY = {
      type: "object",
      required: ["envelope"],
      additionalProperties: false,
      properties: {
        envelope: { type: "string", pattern: "^0x([0-9a-fA-F]{2})+$", maxLength: 2 + 2 * MAX_ENVELOPE_BYTES },
      },
    } as const;

    /** Maps an enclave refusal to HTTP: the enclave's code and message cross unchanged (they hold no secret). */
    async function enclaveCall<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | FastifyReply> {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof EnclaveCallError)) throw error;
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
          response: { 200: COMMAND_STATUS_SCHEMA, 202: COMMAND_STATUS_SCHEMA, 400: ERROR, 422: ERROR },
        },
      },
      async (req, reply) =>
        enclaveCall(reply, async () => {
          const answer = await node.submitCommand(req.body.envelope as Hex, req.query.wait ?? 0);
          return reply.code(isSettled(answer.status) ? 200 : 202).send(answer);
        }),
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
          response: { 200: COMMAND_STATUS_SCHEMA, 404: ERROR, 400: ERROR },
        },
      },
      async (req, reply) =>
        enclaveCall(reply, () => node.commandStatus(req.params.id as Hex, req.query.wait ?? 0)),
    );

    api.post<{ Body: { envelope: string } }>(
      "/v1/queries",
      {
        schema: {
          summary: "a signed, sealed query; the answer is sealed to the caller",
          body: HEX_BODY,
          response: { 400: ERROR, 422: ERROR },
        },
      },
      async (req, reply) => enclaveCall(reply, () => node.query(req.body.envelope as Hex)),
    );

    api.get(OPENAPI_URL, { schema: { hide: true } }, async () => api.swagger());
  });
  return app;
}
