// State snapshots for joining nodes: ciphertext by the hash committed on chain, public.
import type { FastifyInstance } from "fastify";
import type { Hex } from "viem";
import { isSnapshotHash } from "../snapshots/snapshot-store.js";
import { ERROR, type NodeRoutes } from "./api-common.js";

/** `GET /v1/snapshots/:hash` per client address: each answer may be megabytes. */
const SNAPSHOT_RATE = { max: 10, timeWindowMs: 10_000 };

export function registerSnapshotRoutes(api: FastifyInstance, { node }: NodeRoutes): void {
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
}
