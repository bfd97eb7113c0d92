// Users' routes: sealed commands (with `?wait`), their status, sealed queries. The enclave's refusals
// cross as they are (they hold no secret); requests that wait for their command are capped.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Hex } from "viem";
import { MAX_SEALED_MESSAGE_BYTES } from "../../protocol/envelope.js";
import { publicParams } from "../../protocol/public-answer.js";
import { isSettled } from "../../protocol/receipts.js";
import { MAX_NAME_BYTES, MAX_PARAMS_BYTES } from "../../protocol/wire.js";
import type { WaitUntil } from "../commands/command-finality.js";
import { COMMAND_STATUS_SCHEMA, MAX_STATUS_WAIT_MS } from "../commands/command-status.js";
import { ENVELOPE_BODY_LIMIT, ERROR, type NodeRoutes, refusalStatus, replyRefusal } from "./api-common.js";

/** A public query's body: its name and params with room for the JSON around them. */
const PUBLIC_QUERY_BODY_LIMIT = 2 * (MAX_NAME_BYTES + MAX_PARAMS_BYTES);

export function registerCommandRoutes(api: FastifyInstance, { node, limits }: NodeRoutes): void {
  /** Requests waiting now for their command to be ordered. */
  let waiting = 0;
  /**
   * Runs `answer` with the wait the request asked for, while fewer than `maxWaiting` requests wait;
   * past that, 503 `waiting_full` and nothing runs (a command is not even accepted), so the client may
   * send it again later or without `?wait`.
   */
  async function withWait<T>(reply: FastifyReply, waitMs: number, answer: (waitMs: number) => Promise<T>) {
    // The schema's coercion reads `?wait=1e400` as Infinity and lets it through (its integer check
    // does not exclude it, nor does its maximum after coercing): refused here as the schema means.
    if (!Number.isSafeInteger(waitMs))
      return reply.code(400).send({
        code: "invalid_request",
        message: `querystring/wait must be an integer of milliseconds, at most ${MAX_STATUS_WAIT_MS}`,
      });
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

  /** An enclave call, its refusal answered with the status the one table gives its code. */
  async function enclaveCall<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | FastifyReply> {
    try {
      return await call();
    } catch (error) {
      const refused = replyRefusal(reply, error);
      if (refused) return refused;
      throw error;
    }
  }

  const WAIT_QUERY = {
    type: "object",
    additionalProperties: false,
    properties: {
      wait: { type: "integer", minimum: 0, maximum: MAX_STATUS_WAIT_MS },
      // What the wait is for: ordered (the default), or ordered and final.
      until: { type: "string", enum: ["ordered", "final"] },
    },
  } as const;

  api.post<{ Body: { envelope: string }; Querystring: { wait?: number; until?: WaitUntil } }>(
    "/v1/commands",
    {
      schema: {
        summary:
          "submit a signed, sealed command (202 once accepted; the same command sent again is answered " +
          "alike, never applied twice); with ?wait=ms, answered like " +
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
        ? reply.code(refusalStatus("left")).send({
            code: "left",
            message: "this node's enclave left the group; send commands to another node",
          })
        : withWait(reply, req.query.wait ?? 0, (waitMs) =>
            enclaveCall(reply, async () => {
              const answer = await node.submitCommand(req.body.envelope as Hex, waitMs, req.query.until);
              return reply.code(isSettled(answer.status) ? 200 : 202).send(answer);
            }),
          ),
  );

  api.get<{ Params: { id: string }; Querystring: { wait?: number; until?: WaitUntil } }>(
    "/v1/commands/:id",
    {
      schema: {
        summary:
          "a command's status: queued, submitted or ordered, with its receipt (applied or failed) sealed to the sender; " +
          "with ?wait=ms, answered once the command is ordered (with &until=final: ordered and final) or the wait ends",
        params: { type: "object", properties: { id: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } } },
        querystring: WAIT_QUERY,
        response: { 200: COMMAND_STATUS_SCHEMA, 404: ERROR, 400: ERROR, 503: ERROR },
      },
    },
    async (req, reply) =>
      withWait(reply, req.query.wait ?? 0, (waitMs) =>
        enclaveCall(reply, () => node.commandStatus(req.params.id as Hex, waitMs, req.query.until)),
      ),
  );

  api.post<{ Body: { envelope: string } }>(
    "/v1/queries",
    {
      schema: {
        summary: "a signed, sealed query; the answer is sealed to the caller",
        body: HEX_BODY,
        response: { 400: ERROR, 413: ERROR, 422: ERROR, 503: ERROR },
      },
      bodyLimit: ENVELOPE_BODY_LIMIT,
    },
    async (req, reply) => enclaveCall(reply, () => node.query(req.body.envelope as Hex)),
  );

  api.post<{ Body: { name: string; params: Record<string, unknown> } }>(
    "/v1/public-queries",
    {
      schema: {
        summary:
          "a query the app declares public, for anyone: answered in clear, signed by the enclave with the chain point it reflects",
        body: {
          type: "object",
          required: ["name", "params"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, maxLength: MAX_NAME_BYTES },
            params: { type: "object" },
          },
        },
        response: { 400: ERROR, 404: ERROR, 503: ERROR },
      },
      bodyLimit: PUBLIC_QUERY_BODY_LIMIT,
    },
    async (req, reply) => {
      let params: string;
      try {
        // The enclave signs the params it was given; a reader checks them against its own.
        params = publicParams(req.body.params);
      } catch (error) {
        return reply
          .code(400)
          .send({ code: "invalid_request", message: `body/params: ${(error as Error).message}` });
      }
      return enclaveCall(reply, () => node.publicQuery(req.body.name, params));
    },
  );
}
