// A command's state as the node answers it over HTTP: the JSON schema of the enclave's answer (whose
// statuses and type the call table defines), and how long a request may wait for ordering.
import { COMMAND_STATUSES } from "../../protocol/receipts.js";

/** `CommandStatusAnswer` (src/boundary/calls.ts) as a JSON schema: the API's answers and its OpenAPI document. */
export const COMMAND_STATUS_SCHEMA = {
  type: "object",
  required: ["id", "status"],
  properties: {
    id: { type: "string" },
    status: { type: "string", enum: COMMAND_STATUSES },
    sequence: { type: "string" },
    block: { type: "string", description: "the block of the batch that ordered it" },
    final: {
      type: "boolean",
      description:
        "once ordered: whether its batch is final (buried under the node's finality depth, or at or below the chain's finalized block)",
    },
    receipt: { type: "string" },
  },
} as const;

/** The longest a status request may wait for its command to be ordered. */
export const MAX_STATUS_WAIT_MS = 30_000;
