// Receipts and query answers: the plaintexts sealed to the user's response key, encoded with the
// canonical value encoding (src/app/canonical.ts) and decoded strictly (no unknown fields). They
// travel in envelopes of kind `receipt` and `queryAnswer` (src/protocol/envelope.ts, v2), which pad
// them to a size bucket: an applied receipt with a result and a failed one with a long reason, or
// two answers of different results, have one sealed size while they share a bucket (the smallest,
// 512 bytes, holds every ERC-20 receipt, answer and refusal reason).
//
// A refusal after the enclave opened a command or query is sealed the same way: a failed receipt with
// sequence 2^64−1, or a rejected answer, whose reason is `refusalReason(code, detail)` — the precise
// code the host never sees (it sees only `refused`), then the detail; `parseRefusalReason` reads it.
import type { Hex } from "viem";
import { decodeValue, encodeValue, type StateValue } from "../app/canonical.js";
import { WireError } from "./wire.js";

export type ReceiptStatus = "applied" | "failed";

/** The outcome of one command, in ledger order. `reason` only when failed; `result` only if the app gave one. */
export type Receipt = {
  sequence: bigint;
  status: ReceiptStatus;
  reason?: string;
  result?: StateValue;
};

/** A receipt together with the EIP-712 digest of the command it answers. */
export type CommandReceipt = Receipt & { command: Hex };

export type QueryOutcome = { status: "ok"; result: StateValue } | { status: "rejected"; reason: string };

/** A query outcome together with the EIP-712 digest of the query it answers. */
export type QueryAnswer = QueryOutcome & { query: Hex };

const DIGEST_HEX = /^0x[0-9a-f]{64}$/;

function asRecord(value: StateValue, what: string): Record<string, StateValue> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Map) {
    throw new WireError("malformed", `${what} must be an object`);
  }
  return value as Record<string, StateValue>;
}

function decodeRecord(
  bytes: Uint8Array,
  what: string,
  allowed: readonly string[],
): Record<string, StateValue> {
  let value: StateValue;
  try {
    value = decodeValue(bytes);
  } catch (e) {
    throw new WireError("malformed", `${what}: ${(e as Error).message}`);
  }
  const record = asRecord(value, what);
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new WireError("malformed", `${what} has an unknown field ${key}`);
  }
  return record;
}

function expectDigest(value: StateValue | undefined, what: string): Hex {
  if (typeof value !== "string" || !DIGEST_HEX.test(value))
    throw new WireError("malformed", `${what} must be a digest`);
  return value as Hex;
}

export function encodeCommandReceipt(receipt: CommandReceipt): Uint8Array {
  const out: Record<string, StateValue> = {
    command: receipt.command.toLowerCase(),
    sequence: receipt.sequence,
    status: receipt.status,
  };
  if (receipt.reason !== undefined) out.reason = receipt.reason;
  if (receipt.result !== undefined) out.result = receipt.result;
  return encodeValue(out);
}

export function decodeCommandReceipt(bytes: Uint8Array): CommandReceipt {
  const r = decodeRecord(bytes, "receipt", ["command", "sequence", "status", "reason", "result"]);
  if (typeof r.sequence !== "bigint" || r.sequence < 0n) throw new WireError("malformed", "receipt sequence");
  if (r.status !== "applied" && r.status !== "failed") throw new WireError("malformed", "receipt status");
  if ((r.status === "failed") !== (typeof r.reason === "string")) {
    throw new WireError("malformed", "a receipt has a reason exactly when it failed");
  }
  const receipt: CommandReceipt = {
    command: expectDigest(r.command, "receipt command"),
    sequence: r.sequence,
    status: r.status,
  };
  if (typeof r.reason === "string") receipt.reason = r.reason;
  if (r.result !== undefined) receipt.result = r.result;
  return receipt;
}

export function encodeQueryAnswer(answer: QueryAnswer): Uint8Array {
  const out: Record<string, StateValue> = { query: answer.query.toLowerCase(), status: answer.status };
  if (answer.status === "ok") out.result = answer.result;
  else out.reason = answer.reason;
  return encodeValue(out);
}

export function decodeQueryAnswer(bytes: Uint8Array): QueryAnswer {
  const r = decodeRecord(bytes, "query answer", ["query", "status", "result", "reason"]);
  const query = expectDigest(r.query, "query answer query");
  if (r.status === "ok" && r.result !== undefined && r.reason === undefined) {
    return { query, status: "ok", result: r.result };
  }
  if (r.status === "rejected" && typeof r.reason === "string" && r.result === undefined) {
    return { query, status: "rejected", reason: r.reason };
  }
  throw new WireError("malformed", "query answer must be ok with a result or rejected with a reason");
}

/** The reason of a sealed refusal: the enclave's precise code, then its detail. */
export function refusalReason(code: string, detail: string): string {
  return `${code}: ${detail}`;
}

const REFUSAL_REASON = /^([a-z_]+): ([\s\S]*)$/;

/** Reads a sealed refusal's reason back into its code and detail (`refused` if it names none). */
export function parseRefusalReason(reason: string): { code: string; detail: string } {
  const match = REFUSAL_REASON.exec(reason);
  return match ? { code: match[1]!, detail: match[2]! } : { code: "refused", detail: reason };
}
