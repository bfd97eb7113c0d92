// Three operators' nodes, each an `anonify node start` process, on a contract deployed with
// `anonify deploy`: the token's life through all three, then one node leaves the network.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { issueToken, newAccount, type Token, type TokenNet } from "../support/token.js";
import { until } from "../support/wait.js";
import { anonify, nodeStatus, type OperatorNet, startOperatorNet } from "./operator-net.js";

describe("a network of node processes", () => {
  let net: OperatorNet;
  let token: Token;
  /** The nodes still in the network (a node that left no longer applies what is ordered). */
  const serving = new Set([0, 1, 2]);
  const members: TokenNet = {
    client: (account, index) => net.client(account, index),
    running: () => net.running().filter((_, i) => serving.has(i)),
  };
  before(async () => {
    net = await startOperatorNet(3);
    token = await issueToken(members, 0);
  });
  after(() => net?.stop());

  test("the token lives through all three nodes", async () => {
    const alice = await token.fundedAccount(100n);
    const bob = newAccount();
    // Alice pays Bob through node 2; Bob pays part back through node 3; each node answers queries.
    const paid = await (await net.client(alice, 1)).call("transfer", { to: bob.address, amount: "30" });
    assert.equal(paid.status, "applied");
    await waitForApplied(net.running(), paid.sequence + 1n);
    const back = await (await net.client(bob, 2)).call("transfer", { to: alice.address, amount: "5" });
    assert.equal(back.status, "applied");
    await waitForApplied(net.running(), back.sequence + 1n);
    for (const index of [0, 1, 2]) {
      assert.equal(
        await (await net.client(alice, index)).query("balanceOf", {}),
        75n,
        `alice at node ${index + 1}`,
      );
      assert.equal(
        await (await net.client(bob, index)).query("balanceOf", {}),
        25n,
        `bob at node ${index + 1}`,
      );
    }
    // More than a balance allows is refused by every enclave alike.
    const over = await (await net.client(bob, 0)).call("transfer", { to: alice.address, amount: "26" });
    assert.equal(over.status, "failed");
  });

  test("a node leaves: the others remove it and go on; its enclave is out for good", async () => {
    const leaving = net.nodes[2]!;
    const { enclave } = await nodeStatus(leaving.url);
    // An admin call: another node's token is refused, and nothing is sent.
    await assert.rejects(
      anonify(
        "node",
        "leave",
        "--node",
        leaving.url,
        "--admin-token",
        net.nodes[0]!.process.ready.adminToken,
      ),
      (e: unknown) => /rejected \(admin_token_wrong\)/.test((e as { stderr: string }).stderr),
    );
    assert.equal((await nodeStatus(leaving.url)).member, true);
    const { stdout } = await anonify(
      "node",
      "leave",
      ...["--node", leaving.url, "--admin-token", leaving.process.ready.adminToken, "--json"],
    );
    const left = JSON.parse(stdout) as { ok: boolean; enclave: string; transaction: string };
    assert.equal(left.ok, true);
    assert.equal(left.enclave, enclave);
    assert.match(left.transaction, /^0x[0-9a-f]{64}$/);
    serving.delete(2);

    const stayers = members.running();
    const group = await waitForGroup(stayers, { what: "the members to remove the leaver" });
    assert.ok(!group.members.map((m) => m.toLowerCase()).includes(enclave.toLowerCase()));
    const departed = await until("the departed enclave to say it was removed", async () => {
      const s = await nodeStatus(leaving.url);
      return s.removed ? s : undefined;
    });
    assert.equal(departed.member, false);

    // The others go on; the departed enclave cannot open what they order now.
    const carol = await token.fundedAccount(10n);
    const paid = await (await net.client(carol, 1)).call("transfer", {
      to: newAccount().address,
      amount: "3",
    });
    assert.equal(paid.status, "applied");
    await waitForApplied(stayers, paid.sequence + 1n);
    await until("the departed node to skip the batches it cannot open", async () => {
      const s = await nodeStatus(leaving.url);
      return BigInt(s.skippedBatches) > BigInt(departed.skippedBatches) ? true : undefined;
    });
    // Clients read the enclave's state on chain: none encrypts to it any more.
    await assert.rejects(
      net.client(carol, 2),
      (e: unknown) => (e as { code?: string }).code === "enclave_not_active",
    );
    // Nor does the node take a command any more (one accepted now would never be ordered).
    const posted = await fetch(new URL("/v1/commands", leaving.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ envelope: "0x00" }),
    });
    assert.equal(posted.status, 410);
    assert.equal(((await posted.json()) as { code: string }).code, "left");
    // A leave is final: asked again, the node says so.
    await assert.rejects(
      anonify("node", "leave", "--node", leaving.url, "--admin-token", leaving.process.ready.adminToken),
      (e: unknown) => /not_active/.test((e as { stderr: string }).stderr),
    );
  });
});
