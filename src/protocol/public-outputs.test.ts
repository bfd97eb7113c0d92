// A batch's public outputs record: padded to a bucket, round-trips, and decodes strictly (a reader
// takes one encoding per record, so a signature covers exactly what it shows); an app's output over
// the bound fails its command, and the test harness checks outputs for determinism like state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { defineApp, MAX_PUBLIC_OUTPUT_BYTES, publish } from "../app/app.js";
import { encodeValue } from "../app/canonical.js";
import { applyCommand } from "../app/executor.js";
import { object, string } from "../app/schema.js";
import { NondeterministicApp, testApp } from "../app/test-app.js";
import { MAX_BATCH_COMMANDS } from "./batch.js";
import { MAX_PADDED_CONTENT_BYTES, PADDING_BUCKETS, pad, unpad } from "./padding.js";
import {
  decodeOutputs,
  encodeOutputs,
  MAX_OUTPUTS_CONTENT_BYTES,
  OutputsFormatError,
} from "./public-outputs.js";

const alice = "0x1000000000000000000000000000000000000001" as Address;
const refused = (pattern: RegExp) => (e: unknown) =>
  e instanceof OutputsFormatError && pattern.test(e.message);

describe("public outputs records", () => {
  const outputs = [
    { sequence: 3n, output: { id: "lot", winner: alice, price: 200n } },
    { sequence: 9n, output: null },
  ];

  it("pads to the smallest bucket and reads back exactly what was published", () => {
    const record = encodeOutputs(outputs);
    assert.equal(record.length, PADDING_BUCKETS[0]);
    assert.deepEqual(decodeOutputs(record), outputs);
    // A full batch, every command publishing the most it may, still fits the largest bucket.
    assert.ok(MAX_OUTPUTS_CONTENT_BYTES <= MAX_PADDED_CONTENT_BYTES);
    const biggest = { s: "x".repeat(MAX_PUBLIC_OUTPUT_BYTES - encodeValue({ s: "" }).length) };
    const full = Array.from({ length: MAX_BATCH_COMMANDS }, (_, i) => ({
      sequence: BigInt(i),
      output: biggest,
    }));
    assert.equal(decodeOutputs(encodeOutputs(full)).length, MAX_BATCH_COMMANDS);
  });

  it("refuses an empty list, outputs out of order and an output over the bound, when encoding", () => {
    assert.throws(() => encodeOutputs([]), refused(/1 to/));
    assert.throws(() => encodeOutputs([...outputs].reverse()), refused(/ledger order/));
    const over = { s: "x".repeat(MAX_PUBLIC_OUTPUT_BYTES) };
    assert.throws(() => encodeOutputs([{ sequence: 0n, output: over }]), refused(/over/));
  });

  it("decodes strictly: version, count, order, canonical values, padding, no trailing bytes", () => {
    const content = unpad(encodeOutputs(outputs));
    /** `bytes` with the byte at each offset set to its value. */
    const withBytes = (bytes: Uint8Array, set: Record<number, number>) => {
      const copy = bytes.slice();
      for (const [at, value] of Object.entries(set)) copy[Number(at)] = value;
      return copy;
    };
    const changed = (set: Record<number, number>) => pad(withBytes(content, set));
    const record = encodeOutputs(outputs);
    // The second entry's sequence ends at 3 + 10 + the first output's length + 7 (its low byte).
    const secondSequenceLow = 3 + 10 + content[12]! + 7;
    const cases: [string, Uint8Array, RegExp][] = [
      ["another version", changed({ 0: 2 }), /version 2/],
      ["no outputs", changed({ 1: 0, 2: 0 }), /not 0/],
      ["a count beyond the entries", changed({ 2: 3 }), /truncated/],
      ["trailing bytes", pad(Uint8Array.from([...content, 0])), /trailing/],
      ["a second entry before the first", changed({ [secondSequenceLow]: 1 }), /order/],
      ["a value not canonical", changed({ 13: 0x20 }), /command 3/],
      ["padding not zeros", withBytes(record, { [record.length - 1]: 1 }), /padding/],
      ["not its smallest bucket", pad(content, PADDING_BUCKETS[1]), /padding/],
    ];
    for (const [name, bytes, why] of cases) assert.throws(() => decodeOutputs(bytes), refused(why), name);
  });
});

describe("publishing from an app", () => {
  let drawn = 0;
  const app = defineApp({
    name: "publisher",
    initialState: (): { n: number } => ({ n: 0 }),
    commands: {
      say: {
        params: object({ text: string({ maxLength: 2 * MAX_PUBLIC_OUTPUT_BYTES }) }),
        publishes: true,
        run: (s, _c, { text }) => publish(s, { text }, "said"),
      },
      counted: { params: object({}), publishes: true, run: (s) => publish(s, ++drawn) },
    },
    queries: {},
  });
  const at = { sender: alice, sequence: 0n, timestamp: 0n, seed: new Uint8Array(32) };

  it("carries the output beside the receipt's result; one over the bound fails the command", () => {
    const applied = applyCommand(app, { n: 0 }, { ...at, name: "say", params: { text: "hi" } });
    assert.deepEqual(applied.publicOutput, { text: "hi" });
    assert.equal(applied.receipt.result, "said");
    const text = "x".repeat(MAX_PUBLIC_OUTPUT_BYTES);
    const over = applyCommand(app, { n: 0 }, { ...at, name: "say", params: { text } });
    assert.equal(over.receipt.status, "failed");
    assert.equal(over.publicOutput, undefined);
  });

  it("testApp lists each output, and fails an app whose output differs between two fresh runs", () => {
    const harness = testApp(app);
    harness.send(alice, "say", { text: "a" });
    assert.deepEqual(harness.outputs, [{ sequence: 0n, output: { text: "a" } }]);
    assert.throws(() => harness.send(alice, "counted"), NondeterministicApp);
  });
});
