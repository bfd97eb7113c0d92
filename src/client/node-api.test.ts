// The client's side of the node API: refusals become named errors carrying the node's Retry-After; a
// request past the node's rate is sent again, the same bytes, after the Retry-After with jitter, within
// a bound; and a waiting request the node has no slot for is asked again without a wait.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AnonifyClientError } from "./errors.js";
import { NODE_COMMAND, NODE_NETWORK, nodeJson } from "./node-api.js";
import { askNode, DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from "./node-retry.js";

const NODE = "http://node.invalid/";
const WAIT_MS = 20;

const waitingFull = (retryAfterMs?: number) =>
  new AnonifyClientError("waiting_full", "at most 8 requests wait at once", undefined, retryAfterMs);
const rateLimited = (retryAfterMs?: number) =>
  new AnonifyClientError("rate_limited", "at most 3 requests per 1 s", undefined, retryAfterMs);

/** A policy whose pauses are recorded, not slept, and whose jitter is `jitter`. */
function recordedPolicy(jitter: number, bounds: Partial<RetryPolicy> = {}) {
  const slept: number[] = [];
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...bounds,
    random: () => jitter,
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
  return { policy, slept };
}

describe("the node API from the client's side", () => {
  test("a refusal names its code and the node's Retry-After", async () => {
    const fetcher: typeof globalThis.fetch = async () =>
      new Response(JSON.stringify({ code: "waiting_full", message: "full" }), {
        status: 503,
        headers: { "content-type": "application/json", "retry-after": "2" },
      });
    await assert.rejects(
      nodeJson(fetcher, NODE, "/v1/commands/0x00?wait=10", NODE_COMMAND),
      (error: unknown) => {
        assert.ok(error instanceof AnonifyClientError);
        assert.equal(error.code, "waiting_full");
        assert.equal(error.retryAfterMs, 2_000);
        return true;
      },
    );
  });

  test("an answer that is not JSON (a proxy's error page) is a named error, not a SyntaxError", async () => {
    const page = (status: number) => async () => new Response("<html>Bad Gateway</html>", { status });
    await assert.rejects(nodeJson(page(502), NODE, "/v1/status", NODE_NETWORK), (error: unknown) => {
      assert.ok(error instanceof AnonifyClientError);
      assert.equal(error.code, "http_502");
      assert.match(error.message, /not JSON/);
      return true;
    });
    await assert.rejects(nodeJson(page(200), NODE, "/v1/status", NODE_NETWORK), { code: "malformed" });
  });

  test("an answer is parsed by the route's schema: one of another shape is malformed, never a value of it", async () => {
    const answering = (body: unknown) => async () =>
      new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    const id = `0x${"ab".repeat(32)}`;
    const good = await nodeJson(
      answering({ id, status: "ordered", extra: 1 }),
      NODE,
      "/v1/commands",
      NODE_COMMAND,
    );
    assert.deepEqual(good, { id, status: "ordered" }, "fields the client does not read are dropped");
    for (const body of [
      { id, status: "applied" }, // not a status a node tells in clear
      { id: "0x01", status: "queued" },
      { status: "queued" },
      [id, "queued"],
    ])
      await assert.rejects(
        nodeJson(answering(body), NODE, "/v1/commands", NODE_COMMAND),
        (error: unknown) => {
          assert.ok(error instanceof AnonifyClientError);
          assert.equal(error.code, "malformed");
          assert.match(error.message, /answered \/v1\/commands with answer/);
          return true;
        },
      );
  });

  test("waiting_full: asked again without a wait, after the pause if asked for; other refusals stand", async () => {
    const { policy, slept } = recordedPolicy(0);
    const asked: number[] = [];
    const full = (waitMs: number) => {
      asked.push(waitMs);
      return waitMs > 0 ? Promise.reject(waitingFull(1)) : Promise.resolve("answered");
    };
    assert.equal(await askNode(full, { waitMs: WAIT_MS }, policy), "answered");
    assert.equal(await askNode(full, { waitMs: WAIT_MS, pause: true }, policy), "answered");
    assert.deepEqual(asked, [WAIT_MS, 0, WAIT_MS, 0]);
    assert.deepEqual(slept, [1], "only the caller that asked for a pause paused, as long as the node said");

    const refused = () => Promise.reject(new AnonifyClientError("refused", "sealed"));
    await assert.rejects(askNode(refused, { waitMs: WAIT_MS, pause: true }, policy), { code: "refused" });
    // Without a wait there is nothing to give up: the node's refusal stands.
    await assert.rejects(
      askNode(() => Promise.reject(waitingFull()), { pause: true }, policy),
      {
        code: "waiting_full",
      },
    );
  });

  test("a pause honours Retry-After, backs off, and is jittered by up to half the backoff", () => {
    const bounds = { baseBackoffMs: 100, maxBackoffMs: 800 };
    const low = recordedPolicy(0, bounds).policy;
    const high = recordedPolicy(0.999_999, bounds).policy;
    // Without Retry-After: half the backoff, up to all of it; the backoff doubles up to its cap.
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9].map((attempt) => retryDelayMs(attempt, undefined, low)),
      [50, 100, 200, 400, 400, 400],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9].map((attempt) => retryDelayMs(attempt, undefined, high)),
      [100, 200, 400, 800, 800, 800],
    );
    // With Retry-After: never sooner than the node asked, the jitter on top.
    assert.equal(retryDelayMs(1, 1_000, low), 1_000);
    assert.equal(retryDelayMs(1, 1_000, high), 1_050);
    assert.equal(retryDelayMs(4, 1_000, high), 1_400);
  });

  test("rate_limited: the same request again after each pause, until it is served", async () => {
    const { policy, slept } = recordedPolicy(0.5);
    const bodies: string[] = [];
    let refusals = 2;
    const fetcher: typeof globalThis.fetch = async (_input, init) => {
      bodies.push(String(init?.body));
      if (refusals-- > 0)
        return new Response(JSON.stringify({ code: "rate_limited", message: "slow down" }), {
          status: 429,
          headers: { "content-type": "application/json", "retry-after": "1" },
        });
      return new Response(JSON.stringify({ id: `0x${"ab".repeat(32)}`, status: "queued" }), {
        status: 202,
        headers: { "content-type": "application/json" },
      });
    };
    const body = JSON.stringify({ envelope: "0x0102" });
    const answer = await askNode(
      (wait) => nodeJson(fetcher, NODE, `/v1/commands?wait=${wait}`, NODE_COMMAND, { method: "POST", body }),
      { waitMs: WAIT_MS },
      policy,
    );
    assert.equal(answer.status, "queued");
    assert.deepEqual(bodies, [body, body, body], "the same signed, sealed bytes each time");
    // Retry-After: 1 s, then a quarter of the backoff (250 ms, 500 ms) as jitter.
    assert.deepEqual(slept, [1_063, 1_125]);
  });

  test("rate_limited past the bound: the client gives up saying so, still rate_limited", async () => {
    for (const bounds of [
      { maxAttempts: 3, maxWaitMs: 60_000 },
      { maxAttempts: 100, maxWaitMs: 2_500 },
    ]) {
      const { policy, slept } = recordedPolicy(0, bounds);
      let asked = 0;
      const limited = () => {
        asked++;
        return Promise.reject(rateLimited(1_000));
      };
      await assert.rejects(askNode(limited, {}, policy), (error: unknown) => {
        assert.ok(error instanceof AnonifyClientError);
        assert.equal(error.code, "rate_limited");
        assert.equal(error.retryAfterMs, 1_000);
        assert.match(error.message, /^at most 3 requests per 1 s; the client gave up after \d+ attempts/);
        return true;
      });
      // Three attempts; or two pauses of 1 s each, a third would pass 2.5 s of waiting.
      assert.equal(asked, 3);
      assert.deepEqual(slept, [1_000, 1_000]);
    }
  });
});
