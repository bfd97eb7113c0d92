// Admin routes (the node's admin token): rotating the group key, leaving the group.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ADMIN_TOKEN_FILE, checkAdminAuthorization } from "../admin-token.js";
import { LeaveRefused } from "../leave.js";
import { ERROR, type NodeRoutes } from "./api-common.js";

export function registerAdminRoutes(api: FastifyInstance, { node, adminToken }: NodeRoutes): void {
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
}
