// A node with several RPC endpoints of one chain: when one drops its connections or stalls, the node
// goes on through another; when none answers it keeps accepting commands and resumes on its own.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LocalAccount } from "viem";
import { startAnvil } from "../../src/chain/anvil.js";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { anvilKey } from "../support/chain.js";
import { waitForApplied } from "../support/group.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

describe("the chain through several RPC endpoints", () => {
  let anvil: Awaited<ReturnType<typeof startAnvil>>;
  let a: TcpProxy;
  let b: TcpProxy;
  before(async () => {
    anvil = await startAnvil();
    a = await startTcpProxy(anvil.rpcUrl);
    b = await startTcpProxy(anvil.rpcUrl);
  });
  after(async () => {
    await a.close();
    await b.close();
    await anvil.stop();
  });

  test("a dropped endpoint is passed over, and the one that answered stays current", async () => {
    a.set("forward");
    b.set("forward");
    const ledger = await connectLedger([a.url, b.url]);
    assert.equal(ledger.chain.id, anvil.chainId);
    a.set("drop");
    const head = await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    assert.equal(typeof head, "bigint");
    const triedA = a.connections;
    for (let i = 0; i < 3; i++) await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    assert.equal(a.connections, triedA, "after the switch, requests go to the endpoint that answered");
  });

  test("a stalled endpoint costs one timeout, then the other serves", async () => {
    a.set("forward");
    b.set("forward");
    const ledger = await connectLedger([b.url, a.url]);
    b.set("stall");
    await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    const triedB = b.connections;
    await ledger.publicClient.getChainId();
    await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    assert.equal(b.connections, triedB);
  });

  test("none answering fails the request; the first to come back serves again", async () => {
    a.set("forward");
    b.set("forward");
    const ledger = await connectLedger([a.url, b.url]);
    a.set("drop");
    b.set("drop");
    await assert.rejects(ledger.publicClient.getBlockNumber({ cacheTime: 0 }));
    b.set("forward");
    assert.equal(typeof (await ledger.publicClient.getBlockNumber({ cacheTime: 0 })), "bigint");
  });

  test("connecting needs one endpoint that answers, and all that answer on one chain", async () => {
    a.set("drop");
    b.set("forward");
    assert.equal((await connectLedger([a.url, b.url])).chain.id, anvil.chainId, "one answering is enough");
    b.set("drop");
    await assert.rejects(connectLedger([a.url, b.url]), /no RPC endpoint answers/);
    const other = await startAnvil({ chainId: anvil.chainId + 1 });
    try {
      await assert.rejects(connectLedger([anvil.rpcUrl, other.rpcUrl]), /serve different chains/);
    } finally {
      await other.stop();
    }
  });
});

describe("a node whose RPC endpoints fail", () => {
  let tn: TestNet;
  let token: Token;
  let a: TcpProxy;
  let b: TcpProxy;
  before(async () => {
    tn = await startTestNet(3);
    token = await issueToken(tn, 1);
    a = await startTcpProxy(tn.net.rpcUrl, "drop");
    b = await startTcpProxy(tn.net.rpcUrl);
    // Node 0's host reads and writes the chain only through the two proxies; the first drops.
    await tn.restart(0, undefined, {
      wallet: withWallet(await connectLedger([a.url, b.url]), anvilKey(1)),
    });
  });
  after(async () => {
    await tn?.stop();
    await a?.close();
    await b?.close();
  });

  /** What each node answers `account` about its own balance. */
  const balances = (account: LocalAccount) =>
    Promise.all(tn.net.nodes.map(async (_, i) => (await tn.client(account, i)).query("balanceOf", {})));

  test("serves through the endpoint that answers, queues while none does, and resumes on its own", async () => {
    const sender = await token.fundedAccount(100n);
    const recipient = newAccount();
    const to = recipient.address;
    const client = await tn.client(sender, 0);
    const first = await client.call("transfer", { to, amount: "10" });
    assert.equal(first.status, "applied");

    // Both down: the command is accepted and kept; nothing is lost while the chain is out of reach.
    b.set("drop");
    const { id, responseKey } = await client.send("transfer", { to, amount: "5" });
    const queued = await client.status(id, responseKey);
    assert.ok(["queued", "submitted"].includes(queued.status), `while no endpoint answers: ${queued.status}`);
    await until("the outage is logged", () => (tn.logs.some((l) => /chain sync/.test(l)) ? true : undefined));

    a.set("forward");
    const receipt = await client.waitForReceipt(id, responseKey);
    assert.equal(receipt.status, "applied");
    await waitForApplied(tn.running(), receipt.sequence + 1n);
    await until("every node shows both transfers", async () => {
      const all = await balances(recipient);
      return all.every((v) => v === 15n) ? true : undefined;
    });
  });
});
