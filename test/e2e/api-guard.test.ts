// A node that cannot be abused, on a real network: rotation only with the node's admin token, and a
// flooding client limited while another client's transfers complete; a client past the rate limit
// waits as the node says and every command of its burst applies once, or past its bound gives up.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { AnonifyClient, AnonifyClientError, DEFAULT_RETRY_POLICY } from "../../src/client/anonify-client.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { fetchFrom } from "../support/local-fetch.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

/** A node API over `tn`'s second node with its own rate limit, and its URL. */
async function limitedApi(tn: TestNet, rateLimit: { max: number; timeWindowMs: number }) {
  const api = buildNodeApi({
    node: tn.net.nodes[1]!.node,
    contract: tn.net.contract,
    chainId: tn.net.chainId,
    publicRpcUrl: tn.net.rpcUrl,
    limits: { rateLimit },
  });
  return { api, url: await api.listen({ port: 0, host: "127.0.0.1" }) };
}

/** A fetch from `address` that counts the node's 429s and keeps each command body posted. */
function watchedFetch(address: string) {
  const seen = { limited: 0, commandPosts: [] as string[] };
  const from = fetchFrom(address);
  const fetcher: typeof globalThis.fetch = async (input, init) => {
    const res = await from(input, init);
    if (res.status === 429) seen.limited++;
    if (init?.method === "POST" && new URL(String(input)).pathname === "/v1/commands")
      seen.commandPosts.push(String(init.body));
    return res;
  };
  return { fetcher, seen };
}

describe("a node's API guards: admin token, per-client rate limits", () => {
  let tn: TestNet;
  let token: Token;

  before(async () => {
    tn = await startTestNet(2);
    token = await issueToken(tn);
  });
  after(() => tn?.stop());

  test("rotation without the admin token is refused; with it, the group rotates", async () => {
    const [a, b] = tn.net.nodes as [(typeof tn.net.nodes)[0], (typeof tn.net.nodes)[0]];
    assert.equal(statSync(a.adminToken).mode & 0o777, 0o600, "the token file is the host's alone");
    const secret = readFileSync(a.adminToken, "utf8").trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    const rotate = (headers: Record<string, string>) =>
      fetch(new URL("/v1/group/rotate", a.url), { method: "POST", headers });
    const before = (await a.node.groupStatus()).group;

    const none = await rotate({});
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, "admin_token_required");
    const othersToken = readFileSync(b.adminToken, "utf8").trim();
    assert.notEqual(othersToken, secret, "each node has its own token");
    const wrong = await rotate({ authorization: `Bearer ${othersToken}` });
    assert.equal(wrong.status, 403);
    assert.equal(((await wrong.json()) as { code: string }).code, "admin_token_wrong");
    assert.equal(a.node.rotationPending, false, "a refused call asks for nothing");
    assert.equal((await a.node.groupStatus()).group.epoch, before.epoch);

    const ok = await rotate({ authorization: `Bearer ${secret}` });
    assert.equal(ok.status, 202);
    const rotated = await until("the rotation", async () => {
      const g = (await a.node.groupStatus()).group;
      return g.epoch !== before.epoch ? g : undefined;
    });
    assert.notEqual(rotated.epochKeyFingerprint, before.epochKeyFingerprint);
  });

  test("a flood from one client gets 429s while another client's transfers keep completing", async () => {
    const node = tn.net.nodes[1]!;
    // The node's API with a low rate, as a test can afford; clients told apart by source address.
    const MAX = 20;
    const api = buildNodeApi({
      node: node.node,
      contract: tn.net.contract,
      chainId: tn.net.chainId,
      publicRpcUrl: tn.net.rpcUrl,
      limits: { rateLimit: { max: MAX, timeWindowMs: 600_000 } },
    });
    const url = await api.listen({ port: 0, host: "127.0.0.1" });
    try {
      const alice = await token.fundedAccount(100n);
      const bob = newAccount();
      const flooder = fetchFrom("127.0.0.2");
      const statuses: number[] = [];
      let limited: { retryAfter: string | null; body: { code: string; message: string } } | undefined;
      let stop = false;
      const flood = (async () => {
        while (!stop) {
          const res = await flooder(new URL("/v1/health", url));
          statuses.push(res.status);
          const body = (await res.json()) as { code: string; message: string };
          if (res.status === 429) limited ??= { retryAfter: res.headers.get("retry-after"), body };
        }
      })();
      let sent: bigint[];
      try {
        await until("the flood to be limited", () => limited);
        const limitedBefore = statuses.length;
        const client = await AnonifyClient.connect({
          network: { rpcUrl: tn.net.rpcUrl, chainId: tn.net.chainId, contract: tn.net.contract },
          node: url,
          account: alice,
          fetch: fetchFrom("127.0.0.1"),
        });
        sent = [];
        for (const amount of [1n, 2n, 3n]) {
          const receipt = await client.call("transfer", { to: bob.address, amount: amount.toString() });
          assert.equal(receipt.status, "applied", `transfer of ${amount}: ${receipt.reason}`);
          sent.push(amount);
        }
        assert.ok(statuses.length > limitedBefore, "the flood went on during the transfers");
        assert.equal(await client.query("balanceOf", {}), 94n);
      } finally {
        stop = true;
        await flood;
      }
      assert.deepEqual(sent, [1n, 2n, 3n]);
      assert.deepEqual(
        statuses.slice(0, MAX),
        Array(MAX).fill(200),
        "the flooder's first requests were served",
      );
      assert.ok(
        statuses.slice(MAX).every((s) => s === 429),
        "every request past the limit was refused",
      );
      assert.equal(limited?.body.code, "rate_limited");
      assert.match(limited?.body.message ?? "", new RegExp(`at most ${MAX} requests per 600 s`));
      assert.ok(Number(limited?.retryAfter) > 0, "Retry-After says when to come back");
    } finally {
      await api.close();
    }
  });

  test("a burst past the rate limit: each client waits the Retry-After, and every command applies once", async () => {
    // Fewer requests a second than the clients' connections alone make at once.
    const RATE = { max: 4, timeWindowMs: 1_000 };
    const SENDERS = 3;
    const TRANSFERS = [1n, 2n, 3n];
    const { api, url } = await limitedApi(tn, RATE);
    try {
      const senders = [];
      for (let i = 0; i < SENDERS; i++) senders.push(await token.fundedAccount(100n));
      const bob = newAccount();
      // One client address for all: the node counts their requests together.
      const { fetcher, seen } = watchedFetch("127.0.0.3");
      const network = { rpcUrl: tn.net.rpcUrl, chainId: tn.net.chainId, contract: tn.net.contract };
      const ids = await Promise.all(
        senders.map(async (account) => {
          const client = await AnonifyClient.connect({ network, node: url, account, fetch: fetcher });
          const sent = [];
          for (const amount of TRANSFERS) {
            const receipt = await client.call("transfer", { to: bob.address, amount: amount.toString() });
            assert.equal(receipt.status, "applied", `transfer of ${amount}: ${receipt.reason}`);
            sent.push(receipt.id);
          }
          return sent;
        }),
      );
      assert.ok(seen.limited > 0, "the burst went past the node's rate");
      assert.equal(new Set(ids.flat()).size, SENDERS * TRANSFERS.length);
      // Signed once each: a resent command is the same bytes (the same id and nonce).
      assert.equal(new Set(seen.commandPosts).size, SENDERS * TRANSFERS.length);
      const sum = TRANSFERS.reduce((a, b) => a + b, 0n);
      for (const account of senders) {
        const client = await tn.client(account, 0);
        // Node 0 applies the last batch when it reads it; once it has, never more than once each.
        await until("node 0 to apply every transfer", async () =>
          (await client.query("balanceOf", {})) === 100n - sum ? true : undefined,
        );
        assert.equal(await client.nextNonce(), BigInt(TRANSFERS.length), "each command applied once");
      }
      assert.equal(await (await tn.client(bob, 0)).query("balanceOf", {}), BigInt(SENDERS) * sum);
    } finally {
      await api.close();
    }
  });

  test("past its retry bound a client gives up, naming rate_limited, and nothing was applied", async () => {
    // Room for connecting (status, enclave) and the nonce query; the command's post is one too many,
    // and the window lasts longer than the client's bound on waiting.
    const { api, url } = await limitedApi(tn, { max: 3, timeWindowMs: 600_000 });
    try {
      const alice = await token.fundedAccount(10n);
      const { fetcher, seen } = watchedFetch("127.0.0.4");
      const client = await AnonifyClient.connect({
        network: { rpcUrl: tn.net.rpcUrl, chainId: tn.net.chainId, contract: tn.net.contract },
        node: url,
        account: alice,
        fetch: fetcher,
      });
      await assert.rejects(client.call("transfer", { to: newAccount().address, amount: "1" }), (error) => {
        assert.ok(error instanceof AnonifyClientError);
        assert.equal(error.code, "rate_limited");
        assert.match(error.message, /at most 3 requests per 600 s.*the client gave up after 1 attempts/);
        assert.ok((error.retryAfterMs ?? 0) > DEFAULT_RETRY_POLICY.maxWaitMs, "the node's Retry-After");
        return true;
      });
      assert.equal(seen.limited, 1);
      assert.equal(await (await tn.client(alice, 0)).nextNonce(), 0n, "the refused command never ran");
    } finally {
      await api.close();
    }
  });
});
