// The API's guards against a node that stands in for EnclaveNode: admin token, per-address rate
// limits, the cap on waiting requests, body limits, and a status without credentials.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { HttpRequestError } from "viem";
import { ENCLAVE_REQUESTS } from "../../../test/support/enclave-requests.js";
import { until } from "../../../test/support/wait.js";
import type { CommandStatusAnswer } from "../../boundary/call-results.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../../protocol/envelope.js";
import { ADMIN_TOKEN_FILE, checkAdminAuthorization, loadOrCreateAdminToken } from "../admin-token.js";
import { createLogger } from "../log.js";
import { NodeMetrics } from "../node-metrics.js";
import { buildNodeApi, ENVELOPE_BODY_LIMIT, type NodeApiLimits, withoutCredentials } from "./api.js";
import type { ServedNode } from "./api-common.js";

const ID = `0x${"ab".repeat(32)}` as const;
const TOKEN = "5".repeat(64);

/** What the API asks of a node, recorded; `commandStatus` with a wait blocks until `release`. */
const DIVERGENCE = {
  seq: "41",
  kind: "BatchSubmitted",
  reason: "the state digest at event 40 is not this enclave's",
};

function stubNode(hostDir: string) {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const calls = { rotations: 0, waits: [] as number[], submitted: [] as string[] };
  const node = {
    hostDir,
    address: `0x${"11".repeat(20)}`,
    registration: { hpkePublicKey: "0x" },
    isSynced: true,
    enclaveState: "up",
    rotationPending: false,
    peerState: { peers: 1, announced: 0, reason: null },
    groupStatus: async () => ({
      group: { member: true, epoch: "3", slot: "3", members: [], epochKeyFingerprint: undefined },
      ledger: { sequence: "0", batches: "0", queued: 0, inFlight: 0 },
    }),
    enclaveStatus: async () => ({ measurement: "0x00", platform: "sim" }),
    chainHead: async () => 7n,
    followedHead: 7n,
    gasBalance: async () => 10n ** 18n,
    warnings: async () => [],
    rpcOutages: [0],
    counts: new NodeMetrics(),
    requestRotation: () => {
      calls.rotations++;
    },
    commandStatus: async (id: string, waitMs: number): Promise<CommandStatusAnswer> => {
      calls.waits.push(waitMs);
      if (waitMs > 0) await gate;
      return { id: id as `0x${string}`, status: "submitted" };
    },
    submitCommand: async (envelope: string): Promise<CommandStatusAnswer> => {
      calls.submitted.push(envelope);
      return { id: ID, status: "queued" };
    },
  };
  return { node: node as unknown as ServedNode, calls, release };
}

describe("the node API's guards", () => {
  const dirs: string[] = [];
  /**
   * Raw connections the guard tests opened: destroyed at each test's end, and at the suite's should
   * one time out waiting on a guard that did not act (its awaits then end, and so does the run).
   */
  const opened: Socket[] = [];
  const hostDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "anonify-api-"));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const socket of opened.splice(0)) socket.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const api = (limits?: Partial<NodeApiLimits>) => {
    const stub = stubNode(hostDir());
    return {
      ...stub,
      app: buildNodeApi({ node: stub.node, contract: `0x${"22".repeat(20)}`, chainId: 1, limits }),
    };
  };

  test("the admin token is made once per host directory, 0600, 32 random bytes as hex", () => {
    const dir = hostDir();
    const token = loadOrCreateAdminToken(dir);
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir, ADMIN_TOKEN_FILE)).mode & 0o777, 0o600);
    assert.equal(loadOrCreateAdminToken(dir), token, "a restart keeps it");
    assert.notEqual(loadOrCreateAdminToken(hostDir()), token);
    assert.equal(checkAdminAuthorization(`Bearer ${token}`, token), "ok");
    const other = token.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    assert.equal(checkAdminAuthorization(`Bearer ${other}`, token), "wrong");
    assert.equal(checkAdminAuthorization(token, token), "missing", "the scheme is required");
    assert.equal(checkAdminAuthorization(undefined, token), "missing");
  });

  test("rotation needs the node's admin token: 401 without it, 403 with another, 202 with it", async () => {
    const { app, node, calls } = api();
    const token = readFileSync(join(node.hostDir, ADMIN_TOKEN_FILE), "utf8").trim();
    const rotate = (authorization?: string) =>
      app.inject({
        method: "POST",
        url: "/v1/group/rotate",
        headers: authorization ? { authorization } : {},
      });
    const none = await rotate();
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, "admin_token_required");
    assert.match(none.headers["www-authenticate"] as string, /^Bearer/);
    const wrong = await rotate(`Bearer ${TOKEN}`);
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().code, "admin_token_wrong");
    assert.equal(calls.rotations, 0, "a refused call changes nothing");
    const ok = await rotate(`Bearer ${token}`);
    assert.equal(ok.statusCode, 202);
    assert.equal(calls.rotations, 1);
    const doc = (await app.inject({ url: "/docs/openapi.json" })).json();
    assert.deepEqual(doc.paths["/v1/group/rotate"].post.security, [{ adminToken: [] }]);
    await app.close();
  });

  test("each client address has its own rate: past it, 429 naming the limit, with Retry-After", async () => {
    const { app } = api({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    const from = (remoteAddress: string) => app.inject({ url: "/v1/health", remoteAddress });
    for (let i = 0; i < 3; i++) assert.equal((await from("10.0.0.1")).statusCode, 200);
    const limited = await from("10.0.0.1");
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, "rate_limited");
    assert.match(limited.json().message, /at most 3 requests per 60 s/);
    assert.ok(Number(limited.headers["retry-after"]) > 0);
    assert.equal((await from("10.0.0.2")).statusCode, 200, "another address is not limited");
    assert.equal((await from("10.0.0.1")).statusCode, 429);
    await app.close();
  });

  test("the rate is keyed on the socket's address: no forwarding header chooses or escapes it", async () => {
    const { app } = api({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    const forged = (remoteAddress: string, i: number) =>
      app.inject({
        url: "/v1/health",
        remoteAddress,
        headers: {
          "x-forwarded-for": `203.0.113.${i}`,
          "x-real-ip": `203.0.113.${i}`,
          forwarded: `for=203.0.113.${i}`,
        },
      });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await forged("10.0.0.1", i)).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429], "a new forwarded address each time gains nothing");
    // Claiming to be a limited client's address does not spend that client's rate.
    const other = await app.inject({
      url: "/v1/health",
      remoteAddress: "10.0.0.2",
      headers: { "x-forwarded-for": "10.0.0.1" },
    });
    assert.equal(other.statusCode, 200);
    await app.close();
  });

  test("every refusal has the API's shape and code: bodies, parameters, routes, URLs, HTTP itself", async () => {
    const { app } = api();
    const refusals: [string, InjectOptions, number, string][] = [
      [
        "malformed JSON",
        {
          method: "POST",
          url: "/v1/commands",
          headers: { "content-type": "application/json" },
          payload: "{",
        },
        400,
        "invalid_json",
      ],
      [
        "XML",
        {
          method: "POST",
          url: "/v1/queries",
          headers: { "content-type": "application/xml" },
          payload: "<a/>",
        },
        415,
        "unsupported_media_type",
      ],
      [
        "odd hex",
        { method: "POST", url: "/v1/commands", payload: { envelope: "0x123" } },
        400,
        "invalid_request",
      ],
      ["?wait=-1", { url: `/v1/commands/${ID}?wait=-1` }, 400, "invalid_request"],
      [
        "?wait=1e400 (Infinity once coerced)",
        { url: `/v1/commands/${ID}?wait=1e400` },
        400,
        "invalid_request",
      ],
      ["unknown route", { method: "DELETE", url: "/v1/commands" }, 404, "route_not_found"],
      ["undecodable URL", { url: "/v1/commands/%zz" }, 400, "bad_url"],
    ];
    for (const [what, request, status, code] of refusals) {
      const res = await app.inject(request);
      assert.equal(res.statusCode, status, what);
      assert.deepEqual(Object.keys(res.json()).sort(), ["code", "message"], what);
      assert.equal(res.json().code, code, what);
    }
    const unknown = await app.inject({ url: `/v1/${"x".repeat(1_000)}` });
    assert.ok(unknown.json().message.length < 200, "an unknown route's answer does not echo a long URL back");
    await app.close();
  });

  /** A raw connection to `url`'s port: what it received by the time it closed, and whether it did. */
  const rawConnection = (url: string) => {
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    opened.push(socket);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    socket.on("error", () => {}); // a reset is one way of being cut off
    const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
    return { socket, closed };
  };

  /** The `code` of a raw HTTP answer's JSON body. */
  const errorCodeOf = (answer: string): string =>
    (JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { code: string }).code;
  // Bounded: without the guards these would wait forever rather than fail.
  const GUARD_TEST = { timeout: 10_000 };
  /** Runs `body` against the API listening with `limits`; its raw connections and the API closed after. */
  const listening = async (
    limits: Partial<NodeApiLimits>,
    body: (url: string, app: FastifyInstance) => Promise<void>,
  ) => {
    const { app } = api(limits);
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      await body(url, app);
    } finally {
      for (const socket of opened.splice(0)) socket.destroy();
      await app.close();
    }
  };

  test(
    "a request that trickles in is answered 408 request_timeout and cut off; others are served meanwhile",
    GUARD_TEST,
    () =>
      listening({ requestTimeoutMs: 400 }, async (url) => {
        // One never ends its headers; one ends them and never sends the body they announce.
        const headers = rawConnection(url);
        headers.socket.write("GET /v1/status HTTP/1.1\r\nHost: node\r\n");
        const body = rawConnection(url);
        body.socket.write(
          "POST /v1/commands HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        );
        const status = await fetch(new URL("/v1/status", url));
        assert.equal(
          status.status,
          200,
          "another client is served while the slow ones hold their connections",
        );
        for (const slow of [headers, body]) {
          const answer = await slow.closed;
          assert.match(answer, /^HTTP\/1\.1 408 /);
          assert.equal(errorCodeOf(answer), "request_timeout");
        }
      }),
  );

  test(
    "bytes Node's parser refuses are answered in the API's shape, then the connection closes",
    GUARD_TEST,
    () =>
      listening({}, async (url) => {
        const refusals: [string, string, number, string][] = [
          ["not HTTP", "HELLO\r\n\r\n", 400, "bad_http"],
          [
            "headers past Node's limit",
            `GET /v1/status HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
            431,
            "headers_too_large",
          ],
        ];
        for (const [what, bytes, status, code] of refusals) {
          const raw = rawConnection(url);
          raw.socket.write(bytes);
          const answer = await raw.closed;
          assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), what);
          assert.equal(errorCodeOf(answer), code, what);
        }
      }),
  );

  for (const [cap, limits] of [
    ["connections", { maxConnections: 2 }],
    ["connections from one address", { maxConnectionsPerAddress: 2 }],
  ] as const)
    test(
      `past the cap on ${cap}, one more is closed unanswered; once one ends, a new one is served`,
      GUARD_TEST,
      () =>
        listening(limits, async (url, app) => {
          const held = [rawConnection(url), rawConnection(url)];
          await Promise.all(held.map(({ socket }) => new Promise((r) => socket.once("connect", r))));
          await until(
            "the node to count both connections",
            () =>
              new Promise<true | undefined>((resolve) =>
                app.server.getConnections((_, n) => resolve(n === 2 ? true : undefined)),
              ),
          );
          const extra = rawConnection(url);
          extra.socket.write("GET /v1/status HTTP/1.1\r\nHost: node\r\n\r\n");
          assert.equal(await extra.closed, "", "the connection past the cap is closed with no answer");
          held[0]!.socket.destroy();
          const served = await until("a new connection to be served", async () => {
            try {
              return (await fetch(new URL("/v1/status", url))).status;
            } catch {
              return undefined; // the node has not yet seen the held connection end
            }
          });
          assert.equal(served, 200);
        }),
    );

  test("past the cap on waiting requests, 503 waiting_full; one without ?wait is served", async () => {
    const { app, calls, release } = api({ maxWaiting: 1 });
    const first = app.inject({ url: `/v1/commands/${ID}?wait=5000` });
    while (calls.waits.length === 0) await new Promise((r) => setImmediate(r));
    const second = await app.inject({ url: `/v1/commands/${ID}?wait=5000` });
    assert.equal(second.statusCode, 503);
    assert.equal(second.json().code, "waiting_full");
    assert.match(second.json().message, /at most 1 requests wait/);
    assert.equal(second.headers["retry-after"], "1");
    const post = await app.inject({
      method: "POST",
      url: "/v1/commands?wait=5000",
      payload: { envelope: "0x00" },
    });
    assert.equal(post.statusCode, 503, "a command is refused before it is accepted");
    assert.equal(calls.submitted.length, 0);
    assert.equal((await app.inject({ url: `/v1/commands/${ID}` })).statusCode, 200);
    release();
    assert.equal((await first).statusCode, 200);
    assert.equal(
      (await app.inject({ url: `/v1/commands/${ID}?wait=10` })).statusCode,
      200,
      "the slot is free again",
    );
    await app.close();
  });

  test("bodies: a largest envelope passes, one byte more is 413 naming the limit; rotate reads no big body", async () => {
    const { app, node, calls } = api();
    const envelope = (bytes: number) => `0x${"00".repeat(bytes)}`;
    const largest = await app.inject({
      method: "POST",
      url: "/v1/commands",
      payload: { envelope: envelope(MAX_SEALED_MESSAGE_BYTES) },
    });
    assert.equal(largest.statusCode, 202);
    assert.equal(calls.submitted.length, 1);
    const body = JSON.stringify({ envelope: envelope(MAX_SEALED_MESSAGE_BYTES) });
    const padded = `${body}${" ".repeat(ENVELOPE_BODY_LIMIT - body.length + 1)}`;
    const tooLarge = await app.inject({
      method: "POST",
      url: "/v1/queries",
      headers: { "content-type": "application/json" },
      payload: padded,
    });
    assert.equal(tooLarge.statusCode, 413);
    assert.equal(tooLarge.json().code, "body_too_large");
    assert.match(tooLarge.json().message, new RegExp(`at most ${ENVELOPE_BODY_LIMIT} bytes`));
    const token = readFileSync(join(node.hostDir, ADMIN_TOKEN_FILE), "utf8").trim();
    const rotate = await app.inject({
      method: "POST",
      url: "/v1/group/rotate",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      payload: JSON.stringify({ pad: "x".repeat(4096) }),
    });
    assert.equal(rotate.statusCode, 413);
    assert.equal(calls.rotations, 0);
    assert.equal((await app.inject({ url: "/v1/health" })).statusCode, 200, "the node keeps serving");
    await app.close();
  });

  test("status shows the chain RPC as scheme://host:port only", async () => {
    assert.equal(
      withoutCredentials("https://user:pw@rpc.example:8443/v3/KEY?apikey=K#x"),
      "https://rpc.example:8443",
    );
    assert.equal(withoutCredentials("not a url"), "(not a URL)");
    const { node } = stubNode(hostDir());
    const app = buildNodeApi({
      node,
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
      publicRpcUrl: "https://alice:secret@eth.provider.example/v3/0123456789abcdef?key=zz",
    });
    const status = await app.inject({ url: "/v1/status" });
    assert.equal(status.statusCode, 200);
    assert.equal(status.json().chainRpc, "https://eth.provider.example");
    assert.doesNotMatch(status.body, /secret|0123456789abcdef|zz|10\.0\.0\.7/);
    await app.close();
  });

  test("a node that publishes no RPC names none, and gives no network hint", async () => {
    const { app } = api({});
    const [status, hint] = await Promise.all([
      app.inject({ method: "GET", url: "/v1/status" }),
      app.inject({ method: "GET", url: "/v1/network" }),
    ]);
    await app.close();
    assert.equal(status.json().chainRpc, null);
    assert.equal(hint.statusCode, 404);
    assert.equal(hint.json().code, "no_network_hint");
    for (const body of [status.body, hint.body]) assert.doesNotMatch(body, /10\.0\.0\.7/);
  });
});

describe("readiness", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-ready-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** The stub node, changed by `change`, behind an API; what `/v1/ready` answers. */
  const readiness = async (change: (node: Record<string, unknown>) => void) => {
    const { node } = stubNode(dir);
    change(node as unknown as Record<string, unknown>);
    const app = buildNodeApi({ node, contract: `0x${"22".repeat(20)}`, chainId: 1 });
    const res = await app.inject({ method: "GET", url: "/v1/ready" });
    await app.close();
    return { status: res.statusCode, body: res.json() as { ready: boolean; state: string } };
  };
  const groupWith =
    (group: object, ledger: object = {}) =>
    async () => ({
      group: { member: true, epoch: "3", slot: "3", members: [], ...group },
      ledger: { sequence: "0", batches: "0", queued: 0, inFlight: 0, ...ledger },
    });

  test("200 only when the enclave answers, the chain is read, the enclave is a member with its state", async () => {
    assert.deepEqual(await readiness(() => {}), { status: 200, body: { ready: true, state: "ready" } });
    const cases: [string, (node: Record<string, unknown>) => void][] = [
      ["starting", (n) => (n.registration = undefined)],
      ["enclave_restarting", (n) => (n.enclaveState = "restarting")],
      [
        "enclave_down",
        (n) =>
          (n.groupStatus = async () => {
            throw new Error("enclave process exited");
          }),
      ],
      [
        "diverged",
        (n) => {
          n.groupStatus = async () => ({ ...(await groupWith({})()), diverged: DIVERGENCE });
          n.hasLeft = true;
        },
      ],
      ["left", (n) => (n.hasLeft = true)],
      ["catching_up", (n) => (n.isSynced = false)],
      ["not_member", (n) => (n.groupStatus = groupWith({ member: false }))],
      [
        "syncing",
        (n) => (n.groupStatus = groupWith({}, { syncing: { slot: "3", block: "9", sequence: "4" } })),
      ],
    ];
    for (const [state, change] of cases) {
      assert.deepEqual(await readiness(change), { status: 503, body: { ready: false, state } }, state);
    }
  });

  test("a node syncing with no peer to fetch its snapshot from says so: reason no_peer", async () => {
    const noPeer = await readiness((n) => {
      n.groupStatus = groupWith({}, { syncing: { slot: "3", block: "9", sequence: "4" } });
      n.peerState = { peers: 0, announced: 0, reason: "no_peer" };
    });
    const { message, ...body } = noPeer.body as { message?: string };
    assert.deepEqual(body, { ready: false, state: "syncing", reason: "no_peer" });
    assert.equal(noPeer.status, 503);
    assert.match(message ?? "", /--peer.*announced on chain/);
  });
});

describe("a node whose enclave diverged", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-diverged-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("answers 503 diverged to commands, queries and statuses, without Retry-After, and its status says why", async () => {
    const { node } = stubNode(dir);
    const diverged = async () => {
      throw new EnclaveCallError(
        "diverged",
        `this enclave's history is not the network's (${DIVERGENCE.reason})`,
      );
    };
    Object.assign(node, {
      submitCommand: diverged,
      query: diverged,
      commandStatus: diverged,
      groupStatus: async () => ({ ...(await stubNode(dir).node.groupStatus()), diverged: DIVERGENCE }),
    });
    const app = buildNodeApi({ node, contract: `0x${"22".repeat(20)}`, chainId: 1 });
    for (const request of ENCLAVE_REQUESTS) {
      const res = await app.inject(request);
      assert.equal(res.statusCode, 503, request.url);
      assert.equal(res.headers["retry-after"], undefined, "asking again here does not help");
      assert.equal(res.json().code, "diverged");
    }
    const status = await app.inject({ method: "GET", url: "/v1/status" });
    assert.deepEqual(status.json().diverged, DIVERGENCE);
    await app.close();
  });
});

describe("errors the node did not expect", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-internal-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the client hears `internal error` only; the operator's log names the route and the cause", async () => {
    const { node } = stubNode(dir);
    (node as unknown as Record<string, unknown>).groupStatus = async () => {
      throw new TypeError("cannot read properties of undefined (reading 'ledger')");
    };
    const lines: string[] = [];
    const app = buildNodeApi({
      node,
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
      log: createLogger({ write: (line) => lines.push(line) }),
    });
    const res = await app.inject({ method: "GET", url: "/v1/status" });
    await app.close();
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { code: "internal", message: "internal error" });
    assert.equal(lines.length, 1);
    const logged = JSON.parse(lines[0]!) as { route: string; error: string; msg: string };
    assert.equal(logged.route, "/v1/status");
    assert.match(logged.error, /reading 'ledger'/);
  });

  test("a chain RPC that does not answer is a 503 that names the chain, never a 500", async () => {
    const { node } = stubNode(dir);
    (node as unknown as Record<string, unknown>).chainHead = async () => {
      throw new HttpRequestError({ url: "http://rpc.example:8545", details: "fetch failed" });
    };
    const lines: string[] = [];
    const app = buildNodeApi({
      node,
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
      publicRpcUrl: "http://user:secret@rpc.example:8545/key",
      log: createLogger({ write: (line) => lines.push(line) }),
    });
    const res = await app.inject({ method: "GET", url: "/v1/status" });
    await app.close();
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["retry-after"], "5");
    assert.equal(res.json().code, "chain_unavailable");
    assert.equal(res.json().message, "the node's chain RPC does not answer; ask again later");
    assert.doesNotMatch(res.body, /rpc\.example|secret/, "not the operator's RPC, nor its credentials");
    assert.ok(
      lines.every((l) => !l.includes("internal error")),
      "an outage is not logged as a fault",
    );
  });

  test("a node with a public RPC names it, never its own, in status and in the network hint", async () => {
    const { node } = stubNode(dir);
    const app = buildNodeApi({
      node,
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
      publicRpcUrl: "https://rpc.public.example/",
    });
    const [status, hint] = await Promise.all([
      app.inject({ method: "GET", url: "/v1/status" }),
      app.inject({ method: "GET", url: "/v1/network" }),
    ]);
    await app.close();
    assert.equal(status.json().chainRpc, "https://rpc.public.example");
    assert.equal(hint.json().rpcUrl, "https://rpc.public.example/");
    for (const body of [status.body, hint.body]) assert.doesNotMatch(body, /10\.0\.0\.7/);
  });
});
