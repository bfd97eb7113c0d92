import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, FailureLog } from "./log.js";

test("a repeating failure is logged once, then on each change and on recovery", () => {
  const lines: string[] = [];
  const failures = new FailureLog(createLogger({ format: "human", write: (l) => lines.push(l) }), "tick");
  for (let i = 0; i < 40; i++) failures.failed(new Error("chain down\nstack"));
  failures.failed(new Error("enclave gone"));
  failures.failed(new Error("enclave gone"));
  failures.succeeded();
  failures.succeeded();
  assert.deepEqual(
    lines.map((l) => l.slice("00:00:00.000 ".length)),
    [
      "warn  tick failing: chain down",
      "warn  tick failing: enclave gone previous=chain down repeated=40",
      "info  tick recovered previous=enclave gone repeated=2",
    ],
  );
});

test("JSON records carry their level and fields, and no pid or hostname", () => {
  const lines: string[] = [];
  createLogger({ write: (l) => lines.push(l) })
    .child({ node: "node-1" })
    .warn({ nonce: "3" }, "batch not ordered");
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record.level, 40);
  assert.equal(record.node, "node-1");
  assert.equal(record.nonce, "3");
  assert.equal(record.msg, "batch not ordered");
  assert.equal(record.pid, undefined);
});
