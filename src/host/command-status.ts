// A command's state as the node answers it: the one list of statuses, its TS type and JSON schema.
import type { Hex } from "viem";

export const COMMAND_STATUSES = ["queued", "submitted", "applied", "failed"] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A command's state as the enclave reports it; the receipt is sealed to the sender. */
export type CommandStatusAnswer = {
  id: Hex;
  status: CommandStatus;
  sequence?: string;
  receipt?: Hex;
};

/** `CommandStatusAnswer` as a JSON schema (the API's answers and its OpenAPI document). */
export const COMMAND_STATUS_SCHEMA = {
  type: "object",
  required: ["id", "status"],
  properties: {
    id: { type: "string" },
    status: { type: "string", enum: COMMAND_STATUSES },
    sequence: { type: "string" },
    receipt: { type: "string" },
  },
} as const;

/** Whether the command is ordered: its receipt says applied or failed. */
export const isSettled = (status: string): boolean => status === "applied" || status === "failed";

/** The longest a status request may wait for its command to be ordered. */
export const MAX_STATUS_WAIT_MS = 30_000;
