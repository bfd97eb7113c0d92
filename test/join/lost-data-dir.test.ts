// A node whose data directory was lost comes back the way a new operator joins: its enclave makes a
// new identity, registers, is added to the group, and takes the confidential state from a snapshot
// its peers serve and the chain commits to; then it answers every balance as the others do.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { LocalAccount } from "viem";
import { waitForApplied, waitForSameSequence } from "../support/group.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

const ACCOUNTS = 3;

describe("a node whose data directory was lost", () => {
  let tn: TestNet;
  let token: Token;
  const accounts: LocalAccount[] = [];
  before(async () => {
    tn = await startTestNet(3);
    token = await issueToken(tn);
    for (let i = 0; i < ACCOUNTS; i++) accounts.push(await token.fundedAccount(1_000n));
    for (const [i, account] of accounts.entries()) {
      const to = accounts[(i + 1) % ACCOUNTS]!.address;
      const receipt = await (await tn.client(account, i % 3)).call("transfer", {
        to,
        amount: String(10 + i),
      });
      assert.equal(receipt.status, "applied");
    }
    await waitForSameSequence(tn.running());
  });
  after(async () => {
    await tn?.stop();
  });

  test("comes back as a new member with the full state", async () => {
    const lost = tn.net.nodes[1]!;
    const peers = [tn.net.nodes[0]!.url, tn.net.nodes[2]!.url];
    const back = await tn.restart(1, async () => rmSync(lost.hostDir, { recursive: true, force: true }), {
      peers,
    });
    assert.notEqual(back.address, lost.address, "a new enclave identity: nothing of the old one survived");
    await until("the new identity to be a member with its state installed", async () => {
      const { group, ledger } = await back.node.groupStatus();
      return group.member && ledger.syncing === undefined ? true : undefined;
    });
    const others = [tn.net.nodes[0]!, tn.net.nodes[2]!];
    for (const account of accounts) {
      const expected = await (await tn.client(account, 0)).query("balanceOf", {});
      assert.equal(await (await tn.client(account, 1)).query("balanceOf", {}), expected, account.address);
    }
    // And it serves: a transfer sent through it is applied by every node.
    const receipt = await (await tn.client(accounts[0]!, 1)).call("transfer", {
      to: accounts[1]!.address,
      amount: "1",
    });
    assert.equal(receipt.status, "applied");
    await waitForApplied([back.node, ...others.map((n) => n.node)], receipt.sequence + 1n);
  });
});
