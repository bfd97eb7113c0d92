import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex, type Hex, hashTypedData } from "viem";
import { encodeValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import type { LedgerDomain } from "./digests.js";
import {
  COMMAND_TYPES,
  type CommandMessage,
  commandDigest,
  eip712Domain,
  QUERY_TYPES,
  type QueryMessage,
  queryDigest,
  type SignedCommand,
  typedCommand,
  typedQuery,
} from "./eip712.js";
import {
  type BatchRef,
  decodeCommandReceipt,
  decodeQueryAnswer,
  encodeCommandReceipt,
  encodeQueryAnswer,
  type LedgerPoint,
} from "./receipts.js";
import {
  decodeSignedCommand,
  decodeSignedQuery,
  encodeSignedCommand,
  encodeSignedQuery,
  MAX_PARAMS_BYTES,
  MAX_SIGNED_BYTES,
  SIGNED_FIXED_BYTES,
  WireError,
} from "./wire.js";

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const hex = (byte: number, length: number): Hex => bytesToHex(new Uint8Array(length).fill(byte));

const message: CommandMessage = {
  app: "erc20",
  command: "transfer",
  params: '{"amount":"10","to":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}',
  nonce: 7n,
  responseKey: hex(7, 32),
};
const signed: SignedCommand = { ...message, domain, signerKey: hex(2, 33), signature: hex(9, 64) };

function code(expected: string) {
  return (e: unknown) => e instanceof WireError && e.code === expected;
}

describe("EIP-712 digests", () => {
  it("match viem's hashTypedData for commands and queries", () => {
    const viemCommand = hashTypedData({
      domain: eip712Domain(domain),
      types: COMMAND_TYPES,
      primaryType: "Command",
      message: typedCommand(message),
    });
    assert.equal(bytesToHex(commandDigest(domain, message)), viemCommand);
    const query: QueryMessage = {
      app: "erc20",
      query: "balanceOf",
      params: "{}",
      issuedAt: 1_700_000_000n,
      responseKey: hex(1, 32),
    };
    const viemQuery = hashTypedData({
      domain: eip712Domain(domain),
      types: QUERY_TYPES,
      primaryType: "Query",
      message: typedQuery(query),
    });
    assert.equal(bytesToHex(queryDigest(domain, query)), viemQuery);
  });

  it("change with the domain (chain id or contract)", () => {
    const base = commandDigest(domain, message);
    assert.notDeepEqual(commandDigest({ ...domain, chainId: 1 }, message), base);
    assert.notDeepEqual(
      commandDigest({ ...domain, contract: "0x0000000000000000000000000000000000000001" }, message),
      base,
    );
    // The contract's case is irrelevant: it is an address, not a string.
    assert.deepEqual(
      commandDigest({ ...domain, contract: domain.contract.toLowerCase() as Hex }, message),
      base,
    );
  });
});

describe("signed command bytes", () => {
  it("round-trip and are canonical", () => {
    const bytes = encodeSignedCommand(signed);
    const decoded = decodeSignedCommand(bytes);
    assert.deepEqual(decoded.paramsValue, JSON.parse(message.params));
    assert.deepEqual(
      { ...decoded, paramsValue: undefined },
      {
        ...signed,
        domain: { ...domain, contract: domain.contract.toLowerCase() },
        paramsValue: undefined,
      },
    );
    assert.deepEqual(encodeSignedCommand(decoded), bytes);
  });

  it("queries use their own format byte", () => {
    const query = { ...signed, query: "balanceOf", issuedAt: 5n, params: "{}" };
    const bytes = encodeSignedQuery(query);
    assert.equal(decodeSignedQuery(bytes).issuedAt, 5n);
    assert.throws(() => decodeSignedCommand(bytes), code("unsupported_version"));
    assert.throws(() => decodeSignedQuery(encodeSignedCommand(signed)), code("unsupported_version"));
  });

  it("refuse trailing, truncated or oversized bytes", () => {
    const bytes = encodeSignedCommand(signed);
    assert.throws(() => decodeSignedCommand(Uint8Array.of(...bytes, 0)), code("malformed"));
    assert.throws(() => decodeSignedCommand(bytes.subarray(0, bytes.length - 1)), code("malformed"));
    assert.throws(() => decodeSignedCommand(bytes.subarray(0, SIGNED_FIXED_BYTES - 1)), code("malformed"));
    assert.throws(() => decodeSignedCommand(new Uint8Array(MAX_SIGNED_BYTES + 1)), code("too_large"));
  });

  it("refuse bad names and non-canonical or non-object params", () => {
    for (const bad of [
      { app: "" },
      { app: "has space" },
      { command: "9lives" },
      { command: "x".repeat(65) },
    ]) {
      assert.throws(() => encodeSignedCommand({ ...signed, ...bad }), code("malformed"));
    }
    for (const params of ['{"to":1, "a":2}', '{"b":1,"a":2}', "[]", "1", "{"]) {
      assert.throws(
        () => decodeSignedCommand(encodeSignedCommand({ ...signed, params })),
        code("malformed"),
        params,
      );
    }
    assert.throws(
      () => encodeSignedCommand({ ...signed, params: `"${"x".repeat(MAX_PARAMS_BYTES)}"` }),
      code("too_large"),
    );
    assert.throws(() => encodeSignedCommand({ ...signed, nonce: 1n << 64n }), code("malformed"));
    assert.throws(() => encodeSignedCommand({ ...signed, signature: hex(1, 65) }), code("malformed"));
  });

  it("fit the largest command in the limit", () => {
    const params = `{"p":"${"x".repeat(MAX_PARAMS_BYTES - 8)}"}`;
    const big = encodeSignedCommand({ ...signed, app: "a".repeat(64), command: "c".repeat(64), params });
    assert.equal(big.length, MAX_SIGNED_BYTES);
    assert.equal(decodeSignedCommand(big).params, params);
  });
});

describe("receipts and answers", () => {
  const command = hex(0xab, 32);
  const batch: BatchRef = {
    index: 3n,
    block: 41n,
    seq: 17n,
    head: hex(0xef, 32),
  };
  const at: LedgerPoint = { seq: 17n, head: hex(0xef, 32), block: 41n };
  it("round-trip with results that hold bigints and Maps", () => {
    const receipt = {
      command,
      sequence: 12n,
      status: "applied" as const,
      result: PersistentMap.from([["a", 1n]]),
      batch,
    };
    assert.deepEqual(decodeCommandReceipt(encodeCommandReceipt(receipt)), receipt);
    const failed = {
      command,
      sequence: 0n,
      status: "failed" as const,
      reason: "insufficient balance",
      batch,
    };
    assert.deepEqual(decodeCommandReceipt(encodeCommandReceipt(failed)), failed);
    const refusal = { command, sequence: 2n ** 64n - 1n, status: "failed" as const, reason: "nonce_gap: x" };
    assert.deepEqual(decodeCommandReceipt(encodeCommandReceipt(refusal)), refusal);
    const ok = { query: command, status: "ok" as const, result: 5n, at };
    assert.deepEqual(decodeQueryAnswer(encodeQueryAnswer(ok)), ok);
    const genesis = {
      query: command,
      status: "ok" as const,
      result: 0n,
      at: { seq: 0n, head: hex(0, 32), block: 0n },
    };
    assert.deepEqual(decodeQueryAnswer(encodeQueryAnswer(genesis)), genesis);
    const no = { query: command, status: "rejected" as const, reason: "not allowed" };
    assert.deepEqual(decodeQueryAnswer(encodeQueryAnswer(no)), no);
  });

  it("refuse inconsistent shapes", () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const seq = { $bigint: "1" };
    assert.throws(
      () => decodeCommandReceipt(enc({ command, sequence: seq, status: "failed" })),
      code("malformed"),
    );
    assert.throws(
      () => decodeCommandReceipt(enc({ command, sequence: seq, status: "done" })),
      code("malformed"),
    );
    assert.throws(
      () => decodeCommandReceipt(enc({ command, extra: 1, sequence: seq, status: "applied" })),
      code("malformed"),
    );
    assert.throws(() => decodeQueryAnswer(enc({ query: command, status: "ok" })), code("malformed"));
    // An ordered receipt without its batch, a refusal with one, a batch with a field missing or unknown.
    const wire = (r: object) => encodeCommandReceipt(r as Parameters<typeof encodeCommandReceipt>[0]);
    assert.throws(
      () => decodeCommandReceipt(wire({ command, sequence: 1n, status: "applied" })),
      code("malformed"),
    );
    assert.throws(
      () =>
        decodeCommandReceipt(
          wire({ command, sequence: 2n ** 64n - 1n, status: "failed", reason: "r", batch }),
        ),
      code("malformed"),
    );
    const { head: _, ...headless } = batch;
    const bad = encodeValue({ command, sequence: 1n, status: "applied", batch: headless });
    assert.throws(() => decodeCommandReceipt(bad), code("malformed"));
    const extra = encodeValue({
      command,
      sequence: 1n,
      status: "applied",
      batch: { ...batch, head: batch.head, x: 1n },
    });
    assert.throws(() => decodeCommandReceipt(extra), code("malformed"));
    // An answer without its ledger point, or with a point lacking a field.
    assert.throws(
      () => decodeQueryAnswer(encodeValue({ query: command, status: "ok", result: 1n })),
      code("malformed"),
    );
    const { block: _block, ...blockless } = at;
    assert.throws(
      () => decodeQueryAnswer(encodeValue({ query: command, status: "ok", result: 1n, at: blockless })),
      code("malformed"),
    );
  });
});
