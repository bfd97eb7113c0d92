// Who a client is to the API's limits, on real sockets: behind a proxy the operator trusts, each
// client has its own rate and the proxy no per-address connection cap; a header from anyone else
// picks nothing; an IPv6 client is its /64; and a node given a certificate serves HTTPS only.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { makeTlsFiles } from "../../../test/support/tls-cert.js";
import { until } from "../../../test/support/wait.js";
import { NodeMetrics } from "../node-metrics.js";
import { buildNodeApi, type NodeApiOptions } from "./api.js";
import type { ServedNode } from "./api-common.js";

/** A rate a test can exhaust: three requests a minute per client. */
const RATE = { max: 3, timeWindowMs: 60_000 };
const PROXY = "127.0.0.1";
/** Another loopback address (Linux routes 127.0.0.0/8 to loopback): a peer that is not the proxy. */
const STRANGER = "127.0.0.2";
/** Bounded: without the guard under test these would wait far longer than this, not fail. */
const GUARD_TEST = { timeout: 10_000 };

type Answer = { status: number; code?: string };
type Ask = { localAddress?: string; headers?: Record<string, string>; ca?: string };

/** One GET on a connection of its own (no keep-alive), from `localAddress`, with `headers`. */
function get(url: string, path: string, ask: Ask = {}): Promise<Answer & { headers: IncomingHttpHeaders }> {
  const target = new URL(path, url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname.replace(/^\[|\]$/g, ""),
        port: target.port,
        path: target.pathname,
        headers: ask.headers,
        localAddress: ask.localAddress,
        agent: false,
        ...(ask.ca ? { ca: ask.ca } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("error", reject);
        res.on("end", () => {
          const parsed = JSON.parse(body) as { code?: string };
          resolve({ status: res.statusCode ?? 0, code: parsed.code, headers: res.headers });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("the API's clients: behind a trusted proxy, over IPv6, over TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-api-clients-"));
  const opened: Socket[] = [];
  after(() => {
    for (const socket of opened.splice(0)) socket.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A node the API never asks anything of (these routes read nothing of it), with the counters it exports. */
  const servedNode = () => ({ hostDir: dir, counts: new NodeMetrics() }) as unknown as ServedNode;
  const nodeApi = (options: Partial<NodeApiOptions>) =>
    buildNodeApi({
      node: servedNode(),
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
      adminToken: "5".repeat(64),
      ...options,
    });
  /** Runs `body` against the API listening on `host`; its raw connections and the API closed after. */
  const serve = async (
    options: Partial<NodeApiOptions>,
    body: (url: string, app: FastifyInstance) => Promise<void>,
    host = "127.0.0.1",
  ) => {
    const app = nodeApi(options);
    const url = await app.listen({ port: 0, host });
    try {
      await body(url, app);
    } finally {
      for (const socket of opened.splice(0)) socket.destroy();
      await app.close();
    }
  };
  /** `RATE.max` requests a client may make, then the one past it: the statuses in order. */
  const exhaust = async (ask: () => Promise<Answer>) => {
    const statuses: number[] = [];
    for (let i = 0; i <= RATE.max; i++) statuses.push((await ask()).status);
    return statuses;
  };
  const LIMITED = [...Array(RATE.max).fill(200), 429];

  test("behind a trusted proxy each client has its own rate: one client's flood does not starve another", () =>
    serve({ trustedProxies: [PROXY], limits: { rateLimit: RATE } }, async (url) => {
      const viaProxy = (client: string) => () =>
        get(url, "/v1/health", { localAddress: PROXY, headers: { "x-forwarded-for": client } });
      assert.deepEqual(await exhaust(viaProxy("198.51.100.1")), LIMITED, "the flooding client is limited");
      const other = await viaProxy("198.51.100.2")();
      assert.equal(other.status, 200, "another client behind the same proxy is served");
      // A proxy appends the peer it saw to what the client sent: the client cannot name itself anew.
      const forged = await get(url, "/v1/health", {
        localAddress: PROXY,
        headers: { "x-forwarded-for": "203.0.113.9, 198.51.100.1" },
      });
      assert.equal(forged.status, 429, "what the flooding client wrote before its own address picks nothing");
      assert.equal(forged.code, "rate_limited");
    }));

  test("X-Forwarded-For from a peer that is not a trusted proxy is ignored: a new value each time escapes nothing", () =>
    serve({ trustedProxies: [PROXY], limits: { rateLimit: RATE } }, async (url) => {
      let n = 0;
      const forging = () =>
        get(url, "/v1/health", {
          localAddress: STRANGER,
          headers: { "x-forwarded-for": `198.51.100.${++n}` },
        });
      assert.deepEqual(await exhaust(forging), LIMITED);
      assert.equal(
        (await get(url, "/v1/health", { localAddress: PROXY })).status,
        200,
        "the proxy itself is served",
      );
    }));

  test("without a trusted proxy no header picks the key, the proxy's own address included", () =>
    serve({ limits: { rateLimit: RATE } }, async (url) => {
      let n = 0;
      const forging = () =>
        get(url, "/v1/health", { localAddress: PROXY, headers: { "x-forwarded-for": `198.51.100.${++n}` } });
      assert.deepEqual(await exhaust(forging), LIMITED);
    }));

  test("through a chain of trusted proxies the client is the right-most address that is not one of them", async () => {
    const app = nodeApi({ trustedProxies: [PROXY, "10.0.0.0/8"], limits: { rateLimit: RATE } });
    const from = (forwardedFor: string) =>
      app.inject({ url: "/v1/health", remoteAddress: PROXY, headers: { "x-forwarded-for": forwardedFor } });
    for (let i = 0; i < RATE.max; i++) assert.equal((await from("198.51.100.7, 10.1.1.1")).statusCode, 200);
    assert.equal(
      (await from("198.51.100.7, 10.2.2.2")).statusCode,
      429,
      "one client through another inner proxy",
    );
    assert.equal((await from("198.51.100.8, 10.1.1.1")).statusCode, 200, "another client");
    await app.close();
  });

  test("an IPv6 client is its /64: its other addresses share its rate, another /64 has its own", async () => {
    const app = nodeApi({ trustedProxies: [PROXY], limits: { rateLimit: RATE } });
    const from = (remoteAddress: string) => app.inject({ url: "/v1/health", remoteAddress });
    const statuses = [];
    for (const address of [
      "2001:db8:1:2::1",
      "2001:db8:1:2::2",
      "2001:db8:1:2:ffff:ffff:ffff:ffff",
      "2001:db8:1:2:abcd::9",
    ])
      statuses.push((await from(address)).statusCode);
    assert.deepEqual(statuses, LIMITED, "a client rotating through its /64 is one client");
    assert.equal((await from("2001:db8:1:3::1")).statusCode, 200, "the next /64 is another client");
    // Behind the proxy alike: the address the proxy names counts by its /64.
    const viaProxy = (client: string) =>
      app.inject({ url: "/v1/health", remoteAddress: PROXY, headers: { "x-forwarded-for": client } });
    for (let i = 1; i <= RATE.max; i++) assert.equal((await viaProxy(`2001:db8:9:9::${i}`)).statusCode, 200);
    assert.equal((await viaProxy("2001:db8:9:9:8::1")).statusCode, 429);
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: the same client as a.b.c.d.
    for (let i = 0; i < RATE.max; i++) assert.equal((await from("::ffff:192.0.2.1")).statusCode, 200);
    assert.equal((await from("192.0.2.1")).statusCode, 429);
    await app.close();
  });

  test("over a real IPv6 socket (::1) the rate applies as over IPv4", () =>
    serve(
      { limits: { rateLimit: RATE } },
      async (url) => {
        assert.match(url, /^http:\/\/\[::1\]:\d+$/);
        const answers = [];
        for (let i = 0; i <= RATE.max; i++) answers.push(await get(url, "/v1/health"));
        assert.deepEqual(
          answers.map((a) => a.status),
          LIMITED,
        );
        assert.equal(answers.at(-1)?.code, "rate_limited");
      },
      "::1",
    ));

  /** A connection from `localAddress`, left open; resolves once the node has counted it or closed it. */
  const hold = (url: string, localAddress: string) => {
    const socket = connect({ port: Number(new URL(url).port), host: "127.0.0.1", localAddress });
    opened.push(socket);
    socket.on("error", () => {}); // a reset is one way of being cut off
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    return { socket, closed, connected };
  };

  test("the per-address connection cap spares a trusted proxy (it carries every client) and holds any other peer", () =>
    serve({ trustedProxies: [PROXY], limits: { maxConnectionsPerAddress: 2 } }, async (url, app) => {
      const count = () => new Promise<number>((resolve) => app.server.getConnections((_, n) => resolve(n)));
      const fromProxy = [hold(url, PROXY), hold(url, PROXY), hold(url, PROXY)];
      await Promise.all(fromProxy.map((c) => c.connected));
      await until("the node to count the proxy's three connections", async () =>
        (await count()) === 3 ? true : undefined,
      );
      const answer = await get(url, "/v1/health", { localAddress: PROXY });
      assert.equal(answer.status, 200, "a fourth connection from the proxy is served");
      const fromStranger = [hold(url, STRANGER), hold(url, STRANGER)];
      await Promise.all(fromStranger.map((c) => c.connected));
      await until("the node to count the stranger's two connections", async () =>
        (await count()) === 5 ? true : undefined,
      );
      const third = hold(url, STRANGER);
      await third.closed;
      assert.equal(third.socket.bytesRead, 0, "the stranger's third connection is closed unanswered");
      assert.equal(
        fromProxy.every((c) => !c.socket.destroyed),
        true,
        "the proxy's connections stay open",
      );
    }));

  test("a node given a certificate serves HTTPS to clients that trust it, and nothing over plain HTTP", async () => {
    const tls = await makeTlsFiles(dir, "node");
    await serve({ tls: { cert: tls.cert, key: tls.key } }, async (url) => {
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const answer = await get(url, "/v1/health", { ca: tls.cert });
      assert.equal(answer.status, 200);
      await assert.rejects(
        get(url, "/v1/health"),
        /self-signed certificate/,
        "an untrusted certificate is refused",
      );
      const plain = url.replace(/^https:/, "http:");
      await assert.rejects(get(plain, "/v1/health"), "plain HTTP gets no answer");
    });
  });

  test(
    "over TLS, a handshake never finished is cut off within the request's time limit",
    GUARD_TEST,
    async () => {
      const tls = await makeTlsFiles(dir, "slow");
      await serve(
        { tls: { cert: tls.cert, key: tls.key }, limits: { requestTimeoutMs: 400 } },
        async (url) => {
          // Connected, and silent: no ClientHello. Node's own limit would hold it for 120 s, past this test's.
          const silent = hold(url, PROXY);
          await silent.connected;
          await silent.closed;
          assert.equal(silent.socket.bytesRead, 0);
        },
      );
    },
  );
});
