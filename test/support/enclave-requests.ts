import type { InjectOptions } from "fastify";

const envelope = JSON.stringify({ envelope: "0x01" });
const headers = { "content-type": "application/json" };

/** One request to each node API route the enclave answers: a query, a command and a command's status. */
export const ENCLAVE_REQUESTS: readonly (InjectOptions & { url: string })[] = [
  { method: "POST", url: "/v1/queries", payload: envelope, headers },
  { method: "POST", url: "/v1/commands", payload: envelope, headers },
  { method: "GET", url: `/v1/commands/0x${"ab".repeat(32)}` },
];
