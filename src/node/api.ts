// The node's REST API (fastify, JSON schemas, OpenAPI at /docs/openapi.json). Errors are JSON with a
// stable code and a message; nothing secret is in any answer.
import Fastify, { type FastifyInstance } from "fastify";
import type { Address } from "viem";
import type { EnclaveNode } from "./enclave-node.js";

const ERROR = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

const STATUS = {
  type: "object",
  properties: {
    enclave: { type: "string" },
    measurement: { type: "string" },
    platform: { type: "string" },
    contract: { type: "string" },
    chainId: { type: "integer" },
    chainHead: { type: "string" },
    synced: { type: "boolean" },
    epoch: { type: ["string", "null"] },
    slot: { type: "string" },
    member: { type: "boolean" },
    members: { type: "array", items: { type: "string" } },
    epochKeyFingerprint: { type: ["string", "null"] },
    lastHandshake: { type: ["object", "null"], additionalProperties: true },
    rotationPending: { type: "boolean" },
  },
} as const;

export type NodeApiOptions = { node: EnclaveNode; contract: Address; chainId: number };

export function buildNodeApi({ node, contract, chainId }: NodeApiOptions): FastifyInstance {
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
        node.enclave.call<{ measurement: string; platform: string }>("status"),
        node.chainHead(),
      ]);
      const g = status.group;
      return {
        enclave: node.address,
        measurement: enclave.measurement,
        platform: enclave.platform,
        contract,
        chainId,
        chainHead: head.toString(),
        synced: node.isSynced,
        epoch: g.epoch ?? null,
        slot: g.slot,
        member: g.member,
        members: g.members,
        epochKeyFingerprint: g.epochKeyFingerprint ?? null,
        lastHandshake: g.lastHandshake ?? null,
        rotationPending: node.rotationPending,
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
