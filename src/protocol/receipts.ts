// Receipts and query answers: the plaintexts sealed to the user's response key, encoded with the
// canonical value encoding (src/app/canonical.ts) and decoded strictly (no unknown fields). They
// travel in envelopes of kind `receipt` and `queryAnswer` (src/protocol/envelope.ts, v2), which pad
// them to a size bucket: an applied receipt with a result and a failed one with a long reason, or
// two answers of different results, have one sealed size while they share a bucket (the smallest,
// 512 bytes, holds every ERC-20 receipt, answer and refusal reason).
//
// An ordered receipt names the batch that ordered its command (`batch`: its index, and the batch
// event's place in the contract's event sequence: `seq`, the event chain's `head` after it,
// src/protocol/event-chain.ts, and its block), and an `ok` answer names the point of the chain it
// reflects (`at`: the last event the enclave applied, by `seq`, `head` and block): the client finds
// that event on chain and compares, so a node cannot show a receipt of a batch it never submitted, or
// an answer from a history the chain does not hold. The head commits to the event's every field, the
// batch's ciphertext included.
//
// A refusal after the enclave opened a command or query is sealed the same way: a failed receipt with
// sequence 2^64−1, or a rejected answer, whose reason is `refusalReason(code, detail)` — the precise
// code the host never sees (it sees only `refused`), then the detail; `parseRefusalReason` reads it.
import type { Hex } from "viem";
import { decodeValue, encodeValue, type StateValue } from "../app/canonical.js";
import type { CommandOutcome, QueryOutcome } from "../app/executor.js";
import { WireError } from "./wire.js";

export type { QueryOutcome, ReceiptStatus } from "../app/executor.js";

/**
 * A point of the chain: an event by its position in the contract's event sequence, the event chain's
 * head after it and its block (0, the zero hash and block 0 before any event); `digest`, the
 * enclave's state digest there (src/enclave/ledger-digest.ts), where it computed one: the client
 * compares it with every state digest the chain records at that position (batches signed there).
 */
export type LedgerPoint = { seq: bigint; head: Hex; block: bigint; digest?: Hex };

/** A batch as the contract ordered it: its index, and its `BatchSubmitted` event's point. */
export type BatchRef = LedgerPoint & { index: bigint };

/**
 * The outcome of one command, in ledger order. `reason` only when failed; `result` only if the app
 * gave one; `batch` on every ordered receipt (a refusal, sequence 2^64−1, was never ordered).
 */
export type Receipt = CommandOutcome & { batch?: BatchRef };

/**
 * A command's state as the host may see it: accepted and waiting, in a batch sent to the chain, or
 * ordered by the chain. Whether it applied or failed only its receipt says, sealed to the sender: in
 * clear it would tell the host that a sender's balance or allowance was short.
 */
export const COMMAND_STATUSES = ["queued", "submitted", "ordered"] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
/** Whether the command is ordered (its receipt, sealed, says applied or failed). */
export const isSettled = (status: string): boolean => status === "ordered";

/** A receipt together with the EIP-712 digest of the command it answers. */
export type CommandReceipt = Receipt & { command: Hex };

/** A query outcome with the digest of the query it answers; an `ok` one names the ledger point it reflects. */
export type QueryAnswer = QueryOutcome & { query: Hex; at?: LedgerPoint };

/** The sequence of a sealed refusal's receipt: never a ledger position. */
const UNORDERED_SEQUENCE = 2n ** 64n - 1n;

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

function expectUint(value: StateValue | undefined, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n) throw new WireError("malformed", `${what} must be a uint`);
  return value;
}

/** Checks the fields of a nested record: exactly `allowed`, each present unless `optional`. */
function nestedRecord(
  value: StateValue | undefined,
  what: string,
  allowed: readonly string[],
  optional: readonly string[] = [],
): Record<string, StateValue> {
  const record = asRecord(value ?? null, what);
  for (const key of Object.keys(record))
    if (!allowed.includes(key)) throw new WireError("malformed", `${what} has an unknown field ${key}`);
  for (const key of allowed)
    if (!optional.includes(key) && record[key] === undefined)
      throw new WireError("malformed", `${what} lacks ${key}`);
  return record;
}

const POINT_FIELDS = ["seq", "head", "block", "digest"] as const;
const OPTIONAL_POINT_FIELDS = ["digest"] as const;

function encodeLedgerPoint(at: LedgerPoint): Record<string, StateValue> {
  const out: Record<string, StateValue> = { seq: at.seq, head: at.head.toLowerCase(), block: at.block };
  if (at.digest !== undefined) out.digest = at.digest.toLowerCase();
  return out;
}

function pointOf(r: Record<string, StateValue>, what: string): LedgerPoint {
  const point: LedgerPoint = {
    seq: expectUint(r.seq, `${what} seq`),
    head: expectDigest(r.head, `${what} head`),
    block: expectUint(r.block, `${what} block`),
  };
  if (r.digest !== undefined) point.digest = expectDigest(r.digest, `${what} state digest`);
  return point;
}

const decodeLedgerPoint = (value: StateValue | undefined): LedgerPoint =>
  pointOf(nestedRecord(value, "query answer at", POINT_FIELDS, OPTIONAL_POINT_FIELDS), "query answer");

const encodeBatchRef = (batch: BatchRef): StateValue => ({ index: batch.index, ...encodeLedgerPoint(batch) });

function decodeBatchRef(value: StateValue | undefined): BatchRef {
  const r = nestedRecord(value, "receipt batch", ["index", ...POINT_FIELDS], OPTIONAL_POINT_FIELDS);
  return { index: expectUint(r.index, "receipt batch index"), ...pointOf(r, "receipt batch") };
}

export function encodeCommandReceipt(receipt: CommandReceipt): Uint8Array {
  const out: Record<string, StateValue> = {
    command: receipt.command.toLowerCase(),
    sequence: receipt.sequence,
    status: receipt.status,
  };
  if (receipt.reason !== undefined) out.reason = receipt.reason;
  if (receipt.result !== undefined) out.result = receipt.result;
  if (receipt.batch !== undefined) out.batch = encodeBatchRef(receipt.batch);
  return encodeValue(out);
}

export function decodeCommandReceipt(bytes: Uint8Array): CommandReceipt {
  const r = decodeRecord(bytes, "receipt", ["command", "sequence", "status", "reason", "result", "batch"]);
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
  // Every ordered receipt names its batch; a refusal (never ordered) names none.
  if ((r.batch !== undefined) !== (r.sequence !== UNORDERED_SEQUENCE))
    throw new WireError("malformed", "a receipt names its batch exactly when it was ordered");
  if (r.batch !== undefined) receipt.batch = decodeBatchRef(r.batch);
  return receipt;
}

export function encodeQueryAnswer(answer: QueryAnswer): Uint8Array {
  const out: Record<string, StateValue> = { query: answer.query.toLowerCase(), status: answer.status };
  if (answer.status === "ok") out.result = answer.result;
  else out.reason = answer.reason;
  if (answer.at !== undefined) out.at = encodeLedgerPoint(answer.at);
  return encodeValue(out);
}

export function decodeQueryAnswer(bytes: Uint8Array): QueryAnswer {
  const r = decodeRecord(bytes, "query answer", ["query", "status", "result", "reason", "at"]);
  const query = expectDigest(r.query, "query answer query");
  // An answer names the ledger point it reflects (a rejection may: one refused before running names none).
  if (r.status === "ok" && r.result !== undefined && r.reason === undefined && r.at !== undefined) {
    return { query, status: "ok", result: r.result, at: decodeLedgerPoint(r.at) };
  }
  if (r.status === "rejected" && typeof r.reason === "string" && r.result === undefined) {
    const answer: QueryAnswer = { query, status: "rejected", reason: r.reason };
    if (r.at !== undefined) answer.at = decodeLedgerPoint(r.at);
    return answer;
  }
  throw new WireError(
    "malformed",
    "query answer must be ok with a result and its ledger point, or rejected with a reason",
  );
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
