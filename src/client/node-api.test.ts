// The client's side of the node API: refusals become named errors carrying the node's Retry-After,
// and a waiting request the node has no slot for is asked again without a wait.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AnonifyClientError } from "./errors.js";
import { askWithoutWaitIfFull, NODE_COMMAND, NODE_NETWORK, nodeJson } from "./node-api.js";

const NODE = "http://node.invalid/";
const WAIT_MS = 20;

const waitingFull = (retryAfterMs?: number) =>
  new AnonifyClientError("waiting_full", "at most 8 requests wait at once", undefined, retryAfterMs);

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
    const asked: number[] = [];
    const full = (waitMs: number) => {
      asked.push(waitMs);
      return waitMs > 0 ? Promise.reject(waitingFull(1)) : Promise.resolve("answered");
    };
    assert.equal(await askWithoutWaitIfFull(full, WAIT_MS, false), "answered");
    assert.equal(await askWithoutWaitIfFull(full, WAIT_MS, true), "answered");
    assert.deepEqual(asked, [WAIT_MS, 0, WAIT_MS, 0]);

    const refused = () => Promise.reject(new AnonifyClientError("refused", "sealed"));
    await assert.rejects(askWithoutWaitIfFull(refused, WAIT_MS, true), { code: "refused" });
    // Without a wait there is nothing to give up: the node's refusal stands.
    await assert.rejects(
      askWithoutWaitIfFull(() => Promise.reject(waitingFull()), 0, true),
      { code: "waiting_full" },
    );
  });
});
