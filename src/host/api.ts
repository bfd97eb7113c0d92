// The node's REST API (fastify, JSON schemas, OpenAPI at /docs/openapi.json). Errors are JSON with a
// stable code and a message; nothing secret is in any answer.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifySchema } from "fastify";
import type { Address, Hex } from "viem";
import { EnclaveCallError } from "../boundary/frames.js";
import { type EnclaveNode, isSettled, MAX_STATUS_WAIT_MS } from "./node-host.js";

/** Route schemas carry an OpenAPI `summary`, which fastify's schema type does not name. */
const doc = (schema: Record<string, unknown>): FastifySchema => schema as FastifySchema;

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

export type NodeApiOptions = { node: EnclaveNode; contract: Address; chainId: number; chainRpc: string };

export function buildNodeApi({ node, contract, chainId, chainRpc }: NodeApiOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const routes: { method: string; url: string; summary: string; responses: Record<string, unknown> }[] = [];
  app.addHook("onRoute", (route) => {
    if (route.url === "/docs/openapi.json") return;
    const schema = route.schema as { summary?: string; response?: Record<string, unknown> } | undefined;
    routes.push({
      method: String(route.method).toLowerCase(),
      url: route.url,
      summary: schema?.summary ?? "",
      responses: schema?.response ?? {},
    });
  });
  app.setErrorHandler((raw, _request, reply) => {
    const error = raw as { statusCode?: number; code?: string; message: string };
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    // Internal errors are reported by kind only: their messages may name internal data.
    const message = status < 500 ? error.message : "internal error";
    reply.code(status).send({ code: status < 500 ? (error.code ?? "bad_request") : "internal", message });
  });

  app.get(
    "/v1/health",
    {
      schema: {
        summary: "liveness",
        response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } },
      },
    },
    async () => ({ ok: true }),
  );

  app.get(
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
        node.enclave.call("status"),
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

  app.post(
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

  app.get(
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
      const [enclave, record] = await Promise.all([node.enclave.call("status"), node.onChainRecord()]);
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
  const COMMAND_STATUS = {
    type: "object",
    required: ["id", "status"],
    properties: {
      id: { type: "string" },
      status: { type: "string", enum: ["queued", "submitted", "applied", "failed"] },
      sequence: { type: "string" },
      receipt: { type: "string" },
    },
  } as const;

  app.post<{ Body: { envelope: string }; Querystring: { wait?: number } }>(
    "/v1/commands",
    {
      schema: doc({
        summary:
          "submit a signed, sealed command (202 once accepted); with ?wait=ms, answered like " +
          "GET /v1/commands/{id}?wait once the command is ordered (200), or 202 when the wait ends first",
        body: HEX_BODY,
        querystring: WAIT_QUERY,
        response: { 200: COMMAND_STATUS, 202: COMMAND_STATUS, 400: ERROR, 422: ERROR },
      }),
    },
    async (req, reply) =>
      enclaveCall(reply, async () => {
        const answer = await node.submitCommand(req.body.envelope as Hex, req.query.wait ?? 0);
        return reply.code(isSettled(answer.status) ? 200 : 202).send(answer);
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { wait?: number } }>(
    "/v1/commands/:id",
    {
      schema: doc({
        summary:
          "a command's status: queued, submitted, applied or failed, with its receipt sealed to the sender; " +
          "with ?wait=ms, answered once the command is ordered or the wait ends",
        params: { type: "object", properties: { id: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } } },
        querystring: WAIT_QUERY,
        response: { 200: COMMAND_STATUS, 404: ERROR, 400: ERROR },
      }),
    },
    async (req, reply) =>
      enclaveCall(reply, () => node.commandStatus(req.params.id as Hex, req.query.wait ?? 0)),
  );

  app.post<{ Body: { envelope: string } }>(
    "/v1/queries",
    {
      schema: doc({
        summary: "a signed, sealed query; the answer is sealed to the caller",
        body: HEX_BODY,
        response: { 400: ERROR, 422: ERROR },
      }),
    },
    async (req, reply) =>
      enclaveCall(reply, () => node.enclave.call("query", { envelope: req.body.envelope as Hex })),
  );

  app.get("/docs/openapi.json", async () => ({
    openapi: "3.0.3",
    info: { title: "Anonify node API", version: "1" },
    paths: Object.fromEntries(
      Object.entries(
        routes.reduce<Record<string, Record<string, unknown>>>((paths, r) => {
          paths[r.url] = {
            ...(paths[r.url] ?? {}),
            [r.method]: {
              summary: r.summary,
              responses: Object.fromEntries(
                Object.entries(r.responses).map(([code, schema]) => [
                  code,
                  { description: code, content: { "application/json": { schema } } },
                ]),
              ),
            },
          };
          return paths;
        }, {}),
      ),
    ),
  }));
  return app;
}
