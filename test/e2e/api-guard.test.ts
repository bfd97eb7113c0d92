// A node that cannot be abused, on a real network: rotation only with the node's admin token, and a
// flooding client limited while another client's transfers complete.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { fetchFrom } from "../support/local-fetch.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

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
});
