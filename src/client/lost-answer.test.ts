// After a submission whose answer may be lost, the client asks the node for the command by id: again
// while the node is "not now" (within the retry policy's bounds), never for a refusal that says the
// node did not take the command. The real node is in test/faults/lost-answer.test.ts; here the node is
// a fetch that answers as scripted, so the bounds can be counted.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AnonifyClientError } from "./errors.js";
import { answerMayBeLost, knownAfterLoss } from "./lost-answer.js";
import { NODE_COMMAND, nodeJson } from "./node-api.js";
import { type Ask, askNode, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./node-retry.js";

const NODE = "http://node.invalid/";
const ID = `0x${"ab".repeat(32)}`;
const DROPPED = new TypeError("fetch failed");
const RESTARTING = { status: 503, body: { code: "enclave_restarting", message: "retry shortly" } };
const NOT_FOUND = { status: 404, body: { code: "not_found", message: "no command with this id" } };
const QUEUED = { status: 200, body: { id: ID, status: "queued" } };

/** A node whose answers to status requests are `answers`, in order; what was asked, and the pauses. */
function scriptedNode(answers: { status: number; body: unknown }[], bounds: Partial<RetryPolicy> = {}) {
  const asked: string[] = [];
  const slept: number[] = [];
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...bounds,
    random: () => 0,
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
  const fetcher: typeof globalThis.fetch = async (input) => {
    asked.push(new URL(String(input)).pathname);
    const next = answers.shift() ?? RESTARTING;
    return new Response(JSON.stringify(next.body), {
      status: next.status,
      headers: { "content-type": "application/json", "retry-after": "1" },
    });
  };
  const askStatus = (ask: Ask) =>
    askNode(() => nodeJson(fetcher, NODE, `/v1/commands/${ID}`, NODE_COMMAND), ask, policy);
  return { askStatus, asked, slept };
}

describe("a submission's lost answer", () => {
  test("what leaves it open: no HTTP answer, a proxy's bare 5xx, an enclave exiting under the request", () => {
    for (const code of ["enclave_restarting", "http_502", "http_503", "http_504"])
      assert.ok(answerMayBeLost(new AnonifyClientError(code, "")), code);
    assert.ok(answerMayBeLost(DROPPED));
    // Decided before the command ran, or a refusal the node made: the node did not take it.
    for (const code of ["refused", "queue_full", "rate_limited", "waiting_full", "syncing", "malformed"])
      assert.ok(!answerMayBeLost(new AnonifyClientError(code, "")), code);
  });

  test("the command asked for by id, again while the node is not now; the node's answer taken", async () => {
    const node = scriptedNode([RESTARTING, RESTARTING, QUEUED]);
    assert.deepEqual(await knownAfterLoss(DROPPED, node.askStatus), { id: ID, status: "queued" });
    assert.deepEqual(node.asked, [`/v1/commands/${ID}`, `/v1/commands/${ID}`, `/v1/commands/${ID}`]);
    assert.deepEqual(node.slept, [1_000, 1_000], "after the node's Retry-After");
  });

  test("a node that does not know the command, or cannot say within the bounds: the failure stands", async () => {
    const unknown = scriptedNode([NOT_FOUND]);
    assert.equal(await knownAfterLoss(DROPPED, unknown.askStatus), undefined);
    assert.equal(unknown.asked.length, 1);
    const down = scriptedNode([], { maxAttempts: 3 });
    assert.equal(await knownAfterLoss(new AnonifyClientError("http_503", ""), down.askStatus), undefined);
    assert.equal(down.asked.length, 3, "within the policy's attempts");
  });

  test("a refusal that says the node did not take the command: nothing is asked", async () => {
    const node = scriptedNode([QUEUED]);
    assert.equal(await knownAfterLoss(new AnonifyClientError("refused", ""), node.askStatus), undefined);
    assert.deepEqual(node.asked, []);
  });
});
