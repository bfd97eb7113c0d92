// The node's answer to a command submission is lost after the node took the command (the "attacker"
// is an unlucky network: a dropped connection, a proxy's 503). The client asks the node for the
// command by id (src/client/lost-answer.ts) and `call` returns its applied receipt; it never signs the
// transfer again, so it applies once. The same bytes sent again are answered as the one command they
// are, not refused (src/enclave/calls/resend.test.ts). A real node of a real devnet; the loss is a
// fetch wrapper in front of it. Reads dist/ (run `npm run build` first).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";

const FUNDS = 100n;
const SENT = 7n;
const SUBMIT_PATH = "/v1/commands";

/** How the first submission's answer is lost: no answer at all, or a proxy's bare 503 in its place. */
type Loss = "dropped connection" | "proxy 503";

/**
 * A fetch that passes every request to the node and loses the answer to the first command
 * submission after the node answered it; `log` names every request, `lost` the status that was lost.
 */
function losingFirstAnswer(loss: Loss) {
  const log: string[] = [];
  const lost: { status?: number; body?: string } = {};
  const fetcher: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? "GET";
    log.push(`${method} ${url.pathname}`);
    const res = await fetch(input, init);
    if (method !== "POST" || url.pathname !== SUBMIT_PATH || lost.status !== undefined) return res;
    lost.status = res.status;
    lost.body = String(init?.body);
    await res.arrayBuffer(); // the node processed the request and answered in full
    if (loss === "dropped connection") throw new TypeError("fetch failed: the connection dropped");
    return new Response("Service Unavailable", { status: 503, statusText: "Service Unavailable" });
  };
  return { fetcher, log, lost };
}

describe("a command whose answer is lost after the node took it", () => {
  let tn: TestNet;
  let token: Token;
  before(async () => {
    tn = await startTestNet(1);
    token = await issueToken(tn);
  });
  after(() => tn?.stop());

  for (const loss of ["dropped connection", "proxy 503"] as const) {
    test(`${loss}: call still returns the applied receipt, and the transfer applies once`, async () => {
      const alice = await token.fundedAccount(FUNDS);
      const bob = newAccount();
      const { fetcher, log, lost } = losingFirstAnswer(loss);
      const client = await tn.client(alice, 0, fetcher);

      const receipt = await client.call("transfer", { to: bob.address, amount: SENT.toString() });
      assert.ok(lost.status !== undefined && lost.status < 300, `the node took it: ${lost.status}`);
      assert.equal(receipt.status, "applied", receipt.reason);
      // One submission, then the command asked for by its id: never a new signature or nonce.
      const submitted = log.filter((l) => l === `POST ${SUBMIT_PATH}`);
      assert.equal(submitted.length, 1, log.join("\n"));
      const asked = log.indexOf(`GET ${SUBMIT_PATH}/${receipt.id}`);
      assert.ok(asked > log.indexOf(`POST ${SUBMIT_PATH}`), `asked by id after the loss:\n${log.join("\n")}`);

      // Applied once: bob holds one transfer, alice's next nonce is past one command.
      const reader = await tn.client(bob, 0);
      assert.equal(await reader.query("balanceOf", {}), SENT);
      assert.equal(await client.nextNonce(), 1n);

      // The same bytes sent again (what a resend carries): answered as that command, ordered, not refused.
      const again = await fetch(new URL(SUBMIT_PATH, tn.net.nodes[0]!.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: lost.body,
      });
      const answer = (await again.json()) as { id: string; status: string; receipt?: string };
      assert.equal(again.status, 200, JSON.stringify(answer));
      assert.deepEqual([answer.id, answer.status], [receipt.id.toLowerCase(), "ordered"]);
      assert.ok(answer.receipt, "with the receipt sealed to alice");
      assert.equal(await reader.query("balanceOf", {}), SENT, "still once");
      assert.equal(await client.nextNonce(), 1n);
    });
  }
});
