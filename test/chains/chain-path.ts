// The whole path on one Ethereum implementation, started by `startChain`: deployment, policy,
// attestation, three nodes forming a group, the token's life through them, a key rotation and a
// restart that resumes. Every JSON-RPC call goes through a recording proxy, so the run also shows
// which methods the node, the host and the client need: only standard ones.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LocalAccount } from "viem";
import { DEFAULT_PAGE_BLOCKS } from "../../src/chain/block-pages.js";
import { type ChainNet, startNodesOn } from "../support/external-chain.js";
import { waitForApplied, waitForRotation, waitForSameSequence } from "../support/group.js";
import { type RpcRecorder, startRpcRecorder } from "../support/rpc-recorder.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { STANDARD_RPC_METHODS } from "./standard-rpc.js";

export type ChainUnderTest = { rpcUrl: string; stop(): Promise<void> };

// Distinctive amounts, so that a wrong balance cannot match by chance.
const SUPPLY = 700_000_123n;
const TO_BOB = 40_000_321n;
const ALLOWED = 9_000_777n;
const SPENT = 6_000_555n;
const BURNT = 1_000_999n;
const TRANSFERS_WHILE_DOWN = 4;

const UNBOUNDED = 2n ** 256n;

/**
 * The blocks an eth_getLogs filter spans (one for a block hash); a tag ("latest") or a missing
 * bound counts as unbounded, since providers cap ranges and the head moves.
 */
function logRange(params: unknown): bigint {
  const filter: { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown } =
    Array.isArray(params) && typeof params[0] === "object" && params[0] ? params[0] : {};
  if (filter.blockHash !== undefined) return 1n;
  const block = (b: unknown) => (typeof b === "string" && b.startsWith("0x") ? BigInt(b) : undefined);
  const from = block(filter.fromBlock);
  const to = block(filter.toBlock);
  return from === undefined || to === undefined ? UNBOUNDED : to - from + 1n;
}
export function describeChainPath(name: string, startChain: () => Promise<ChainUnderTest>): void {
  describe(`the whole path on ${name}: 3 nodes, real enclave processes, standard JSON-RPC only`, () => {
    let chain: ChainUnderTest;
    let rpc: RpcRecorder;
    let net: ChainNet;
    let token: Token;
    let startedAt = 0;
    const client = (account: LocalAccount, node: number) => net.client(account, node);
    const everywhere = (account: LocalAccount, query: string, params: Record<string, unknown> = {}) =>
      Promise.all(net.nodes.map(async (_, i) => (await client(account, i)).query(query, params)));

    before(async () => {
      chain = await startChain();
      rpc = await startRpcRecorder(chain.rpcUrl);
      startedAt = Date.now();
      net = await startNodesOn(rpc.url, 3);
      token = await issueToken(net);
    });
    after(async () => {
      await net?.stop();
      await rpc?.close();
      await chain?.stop();
    });

    test("the token's life through the three nodes; each answers every owner with the same numbers", async () => {
      const [alice, bob, carol] = [newAccount(), newAccount(), newAccount()];
      await token.fund(alice.address, SUPPLY);
      const sent = await (await client(alice, 0)).call("transfer", { to: bob.address, amount: TO_BOB });
      assert.equal(sent.status, "applied");
      await waitForApplied(net.running(), sent.sequence + 1n);
      const approved = await (await client(alice, 1)).call("approve", {
        spender: bob.address,
        amount: ALLOWED.toString(),
      });
      assert.equal(approved.status, "applied");
      const spent = await (await client(bob, 1)).call("transferFrom", {
        from: alice.address,
        to: carol.address,
        amount: SPENT.toString(),
      });
      assert.equal(spent.status, "applied");
      await waitForApplied(net.running(), spent.sequence + 1n);
      const burnt = await (await client(carol, 2)).call("burn", { amount: BURNT.toString() });
      assert.equal(burnt.status, "applied");
      await waitForApplied(net.running(), burnt.sequence + 1n);
      assert.deepEqual(await everywhere(alice, "balanceOf"), Array(3).fill(SUPPLY - TO_BOB - SPENT));
      assert.deepEqual(await everywhere(bob, "balanceOf"), Array(3).fill(TO_BOB));
      assert.deepEqual(await everywhere(carol, "balanceOf"), Array(3).fill(SPENT - BURNT));
      assert.deepEqual(
        await everywhere(bob, "allowance", { owner: alice.address, spender: bob.address }),
        Array(3).fill(ALLOWED - SPENT),
      );
    });

    test("a key rotation: the group moves to a new epoch key and commands go on under it", async () => {
      const before = (await net.running()[0]!.groupStatus()).group;
      net.running()[1]!.requestRotation();
      const after = await waitForRotation(net.running(), before);
      assert.notEqual(after.epochKeyFingerprint, before.epochKeyFingerprint);
      const alice = await token.fundedAccount(10n);
      const sent = await (await client(alice, 2)).call("transfer", { to: newAccount().address, amount: 3 });
      assert.equal(sent.status, "applied");
      await waitForApplied(net.running(), sent.sequence + 1n);
      assert.deepEqual(await everywhere(alice, "balanceOf"), Array(3).fill(7n));
    });

    test("a node restarted on its data directory resumes: same enclave, the commands ordered while it was down", async () => {
      const alice = await token.fundedAccount(BigInt(TRANSFERS_WHILE_DOWN));
      const carol = newAccount();
      const stopped = net.nodes[2]!.node.address;
      const again = await net.restart(2, async () => {
        const a = await client(alice, 0);
        for (let i = 0; i < TRANSFERS_WHILE_DOWN; i++)
          assert.equal((await a.call("transfer", { to: carol.address, amount: 1 })).status, "applied");
      });
      assert.equal(again.node.address, stopped, "it kept its enclave identity");
      await waitForSameSequence(net.running());
      assert.equal(await (await client(carol, 2)).query("balanceOf", {}), BigInt(TRANSFERS_WHILE_DOWN));
      const back = await (await client(carol, 2)).call("transfer", { to: alice.address, amount: 1 });
      assert.equal(back.status, "applied", "the restarted node takes commands again");
    });

    test("the node, host and client used only standard JSON-RPC methods, and bounded log ranges", (t) => {
      const used = [...new Set(rpc.calls.map((c) => c.method))].sort();
      const count = (m: string) => rpc.calls.filter((c) => c.method === m).length;
      const seconds = (Date.now() - startedAt) / 1000;
      t.diagnostic(`JSON-RPC calls on ${name} in ${seconds.toFixed(0)} s (3 nodes, clients, setup):`);
      t.diagnostic(used.map((m) => `${m} ${count(m)}`).join(", "));
      const nonStandard = used.filter((m) => !STANDARD_RPC_METHODS.has(m));
      assert.deepEqual(nonStandard, [], "only methods of the Ethereum execution API");
      // The path's core: reading the head and the contract's logs, calls, and raw signed transactions
      // (the node holds its keys: it never asks the RPC node to sign).
      for (const m of ["eth_blockNumber", "eth_getLogs", "eth_call", "eth_sendRawTransaction"])
        assert.ok(used.includes(m), `${m} was used`);
      const ranges = rpc.calls.filter((c) => c.method === "eth_getLogs").map((c) => logRange(c.params));
      assert.ok(ranges.length > 0);
      for (const blocks of ranges) assert.ok(blocks <= DEFAULT_PAGE_BLOCKS, `a range of ${blocks} blocks`);
    });
  });
}
