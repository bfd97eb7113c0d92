// One history, provably, with real Anvil and real enclave processes: the host is the liar. It forges
// an event into its own enclave's feed (a handshake turned void: a 1-byte commit, every head after it
// recomputed so that each checks), or stops feeding it. The forging node's enclave stops at the forged
// commit (its committer's signature covers its bytes) and its node says so; every other node goes on.
// A stale node's answers name how far behind they are, and a client with a bound refuses them. A
// state digest that is not the one the chain records at that point is refused as a fork. A host that
// floods rotations lands one per the contract's interval while the others' commands all apply.
// (In process, src/enclave/calls/divergence.test.ts: a dropped or swapped unsigned event, caught at
// the next batch signed after it, and a member that computes otherwise.)
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, type Hex, http, type LocalAccount } from "viem";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import type { EnclaveNode } from "../../src/host/node-host.js";
import { positionAfter } from "../../src/protocol/event-chain.js";
import { anvilKey } from "../support/chain.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { startRotationFlood } from "../support/rotation-flood.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

/** An Anvil account no devnet node or owner uses: the flooding host's own wallet. */
const ATTACKER_ACCOUNT = 9;

const refused = (code: string) => (e: unknown) =>
  e instanceof AnonifyClientError && e.code === code
    ? true
    : assert.fail(`expected ${code}, got ${String(e)}`);

/** The event as the contract's sequence would take it, before it is placed. */
function unplaced(event: LedgerEvent) {
  const { seq: _s, timestamp: _t, head: _h, block: _b, logIndex: _l, ...rest } = event;
  return rest as Parameters<typeof positionAfter>[1];
}

/** Makes node `node`'s host pass every `applyEvents` through `change`; returns the undo. */
function intercept(node: EnclaveNode, change: (events: LedgerEvent[]) => Promise<LedgerEvent[]>): () => void {
  const real = node.enclave.callUnchecked.bind(node.enclave);
  node.enclave.callUnchecked = async (name: string, args: unknown) =>
    name === "applyEvents"
      ? real(name, { events: await change((args as { events: LedgerEvent[] }).events) })
      : real(name, args);
  return () => {
    node.enclave.callUnchecked = real;
  };
}

describe("one history, provably: real Anvil, real enclaves, the host as the liar", () => {
  let tn: TestNet;
  let token: Token;
  const HONEST = 0;
  const client = (account: LocalAccount, index: number, maxLagSeconds?: number) =>
    AnonifyClient.connect({
      network: readNetworkProfile(tn.net.networkProfile),
      node: tn.net.nodes[index]!.url,
      account,
      maxLagSeconds,
    });
  const chain = () => createPublicClient({ transport: http(tn.net.rpcUrl) });

  before(async () => {
    tn = await startTestNet(3);
    token = await issueToken(tn, HONEST);
  });
  after(async () => {
    await tn?.stop();
  });

  test("an honest answer names the state digest the chain records there; another digest is refused", async () => {
    const alice = await token.fundedAccount(10n);
    const a = await client(alice, HONEST);
    const { result, at } = await a.queryAt("balanceOf", {});
    assert.equal(result, 10n);
    assert.equal(at.behind, 0n);
    assert.match(at.digest ?? "", /^0x[0-9a-f]{64}$/);
    // The next batch this node seals is signed at that point, with its state digest there.
    const sent = await a.call("transfer", { to: newAccount().address, amount: 1 });
    const [claim] = await chain().getContractEvents({
      address: tn.net.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { batch: sent.batch!.index },
      fromBlock: sent.batch!.block,
      toBlock: sent.batch!.block,
      strict: true,
    });
    assert.equal(claim?.args.baseSeq, at.seq, "sealed at the point the answer reflects");
    assert.equal(claim?.args.stateDigest, at.digest, "every member's digest there is the same");
    assert.equal((await a.checkAnswer(at)).claims, 1);
    // The same point with another state, or none named where the chain records one: a fork.
    await assert.rejects(
      a.checkAnswer({ ...at, digest: `0x${"ab".repeat(32)}` }),
      refused("answer_from_fork"),
    );
    await assert.rejects(a.checkAnswer({ ...at, digest: undefined }), refused("answer_from_fork"));
    // A receipt names the digest after its batch; once a batch is signed there, it is checked alike.
    const next = await a.call("transfer", { to: newAccount().address, amount: 1 });
    assert.ok(next.batch!.seq > sent.batch!.seq);
    assert.match(sent.batch!.digest ?? "", /^0x[0-9a-f]{64}$/);
    await a.checkReceipt(sent);
    await assert.rejects(
      a.checkReceipt({ ...sent, batch: { ...sent.batch!, digest: `0x${"cd".repeat(32)}` } }),
      refused("answer_from_fork"),
    );
  });

  test("a node whose host stops feeding its enclave answers with how far behind it is; a bounded client refuses it", async () => {
    const STALE = 1;
    const alice = await token.fundedAccount(10n);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const undo = intercept(tn.running()[STALE]!, async (events) => {
      await gate;
      return events;
    });
    try {
      // The honest node orders a transfer the stale node never applies.
      await (await client(alice, HONEST)).call("transfer", { to: newAccount().address, amount: 4 });
      const lenient = await client(alice, STALE);
      const old = await lenient.queryAt("balanceOf", {});
      assert.equal(old.result, 10n, "the stale node answers from before the transfer");
      assert.ok(old.at.behind > 0n, "and says how far behind it is");
      const bounded = await client(alice, STALE, 1);
      const error = await until("the bounded client refuses the stale answer", async () => {
        try {
          await bounded.query("balanceOf", {});
          return undefined;
        } catch (e) {
          return e;
        }
      });
      assert.ok(error instanceof AnonifyClientError && error.code === "stale_answer", String(error));
      assert.match(error.message, /events more, the first ordered \d+ s ago/);
    } finally {
      release();
      undo();
    }
    // Fed again, it catches up: the same bounded client takes its answer.
    const bounded = await client(alice, STALE, 1);
    assert.equal(
      await until("the node caught up", async () => {
        const { result, at } = await bounded.queryAt("balanceOf", {});
        return at.behind === 0n ? result : undefined;
      }),
      6n,
    );
  });

  test("a rotation flood from one member's host lands one rotation per interval; the others' commands all apply", async () => {
    const FLOODER = 1;
    const alice = await token.fundedAccount(100n);
    const flooder = tn.running()[FLOODER]!;
    const rpc = chain();
    const contract = { address: tn.net.contract, abi: anonifyAbi } as const;
    // The flooder's own host may have rotated within the interval already: start once the contract
    // would take its next rotation, so that the flood's window holds exactly one.
    const interval = BigInt(await rpc.readContract({ ...contract, functionName: "rotationInterval" }));
    const { lastRotation } = await rpc.readContract({
      ...contract,
      functionName: "getEnclave",
      args: [flooder.address],
    });
    await until(
      "the flooder may rotate again",
      async () => BigInt(Math.floor(Date.now() / 1000)) >= BigInt(lastRotation) + interval || undefined,
      Number(interval + 10n) * 1000,
    );
    const fromBlock = await rpc.getBlockNumber();
    const before = BigInt((await tn.running()[HONEST]!.groupStatus()).group.slot);
    const attacker = withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(ATTACKER_ACCOUNT));
    const flood = startRotationFlood(flooder, attacker, tn.net.contract);
    let sent = 0;
    try {
      const a = await client(alice, HONEST);
      // Transfers go on while the flooder's host sends rotation after rotation.
      await until("the contract refused the flooder's second rotation", async () => {
        const receipt = await a.call("transfer", { to: newAccount().address, amount: 1 });
        assert.equal(receipt.status, "applied");
        sent++;
        return (flood.refused.get("RotationTooSoon") ?? 0) >= 3 ? true : undefined;
      });
    } finally {
      await flood.stop();
    }
    // Counted on chain: a rotation the flooder's own host sent in the window counts as well.
    const rotations = await rpc.getContractEvents({
      ...contract,
      eventName: "HandshakeCommitted",
      args: { enclave: flooder.address },
      fromBlock,
    });
    assert.equal(
      rotations.filter((r) => r.args.rotation).length,
      1,
      "one rotation by the flooder in the contract's interval (60 s by default)",
    );
    assert.ok(flood.landed <= 1, `the flood landed ${flood.landed}; refused: ${[...flood.refused]}`);
    const after = BigInt((await tn.running()[HONEST]!.groupStatus()).group.slot);
    assert.equal(after - before, 1n, "the flood moved the slot once");
    assert.equal(await (await client(alice, HONEST)).query("balanceOf", {}), 100n - BigInt(sent));
  });

  test("a host that forges a void handshake into its enclave's feed: its enclave stops there, loudly; the others go on", async () => {
    const LIAR = 2;
    const alice = await token.fundedAccount(10n);
    const liar = tn.running()[LIAR]!;
    // From the first handshake on, the liar's host feeds a 1-byte commit in its place, and places
    // every event after it again on a chain of heads of its own (each recomputed from what was fed),
    // the same each time it feeds an event again.
    let forkSeq: bigint | undefined;
    const heads = new Map<bigint, Hex>();
    const undo = intercept(liar, async (events) => {
      const fed: LedgerEvent[] = [];
      for (const event of events) {
        const seq = BigInt(event.seq);
        if (forkSeq === undefined && event.kind === "HandshakeCommitted") forkSeq = seq;
        if (forkSeq === undefined || seq < forkSeq) {
          fed.push(event);
          continue;
        }
        const changed = seq === forkSeq ? { ...event, handshake: "0x01" as Hex } : event;
        const previous =
          seq === forkSeq
            ? await chain().readContract({
                address: tn.net.contract,
                abi: anonifyAbi,
                functionName: "headAt",
                args: [seq - 1n],
              })
            : heads.get(seq - 1n)!;
        const placed = positionAfter(
          { seq: seq - 1n, head: previous },
          unplaced(changed),
          BigInt(event.timestamp),
        );
        heads.set(seq, placed.head);
        fed.push({ ...changed, head: placed.head });
      }
      return fed;
    });
    try {
      tn.running()[HONEST]!.requestRotation();
      // The commit is signed by its committer, over its bytes and the head where it made it: the
      // forged one does not verify, and the liar's enclave stops right there, applying nothing of it.
      const diverged = await until(
        "the liar's enclave diverged",
        async () => (await liar.groupStatus()).diverged,
      );
      assert.equal(diverged.kind, "HandshakeCommitted");
      assert.equal(BigInt(diverged.seq), forkSeq);
      assert.match(
        diverged.reason,
        /signature by 0x[0-9a-fA-F]{40} does not verify against this enclave's history/,
      );
      assert.equal(BigInt((await liar.groupStatus()).cursor!.seq), forkSeq! - 1n);
      // The honest nodes order a transfer in the new epoch meanwhile.
      await (await client(alice, HONEST)).call("transfer", { to: newAccount().address, amount: 3 });
    } finally {
      undo();
    }
    // Its node says so and serves nothing, even fed the real chain again.
    const ready = await fetch(new URL("/v1/ready", tn.net.nodes[LIAR]!.url));
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { state: string }).state, "diverged");
    await assert.rejects((await client(alice, LIAR)).query("balanceOf", {}), refused("diverged"));
    assert.equal(tn.logs.filter((l) => l.includes("enclave diverged from the network")).length, 1);
    // The honest nodes went on, with one state.
    const honest = [0, 1].map(async (i) => (await client(alice, i)).query("balanceOf", {}));
    assert.deepEqual(await Promise.all(honest), [7n, 7n]);
  });
});
