// A client believes a receipt or an answer only once the chain holds what it names. The lying host
// here is a real node's host: it keeps its enclave's batch off the chain and feeds the enclave a
// forged `BatchSubmitted` event carrying that batch, so the enclave itself applies the command and
// seals a genuine receipt, and answers queries from a state the chain does not hold (a fork). The
// same client, against an honest node of the same network, accepts what the chain holds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, type Hex, http, type LocalAccount } from "viem";
import type { BatchOffer } from "../../src/boundary/call-results.js";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { positionAfter } from "../../src/protocol/event-chain.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount } from "../support/token.js";
import { until } from "../support/wait.js";

const refused = (code: string) => (e: unknown) => e instanceof AnonifyClientError && e.code === code;
const LYING = 0;
const HONEST = 1;

describe("receipts and answers checked on chain", () => {
  let tn: TestNet;
  let alice: LocalAccount;
  const connect = (index: number, confirmations?: bigint) =>
    AnonifyClient.connect({
      network: readNetworkProfile(tn.net.networkProfile),
      node: tn.net.nodes[index]!.url,
      account: alice,
      confirmations,
    });
  const chain = () => createPublicClient({ transport: http(tn.net.rpcUrl) });
  const read = <F extends "batchCount" | "commandCount" | "eventCount" | "eventHead">(functionName: F) =>
    chain().readContract({ address: tn.net.contract, abi: anonifyAbi, functionName });

  before(async () => {
    tn = await startTestNet(2);
    const token = await issueToken(tn, LYING);
    alice = await token.fundedAccount(10n);
  });
  after(async () => {
    await tn?.stop();
  });

  test("against an honest node: the receipt's batch is the contract's, final at depth 0, and answers check", async () => {
    const client = await connect(HONEST);
    const receipt = await client.call("transfer", { to: newAccount().address, amount: 1 });
    assert.equal(receipt.status, "applied");
    assert.equal(receipt.final, true, "the devnet's depth is 0");
    const batch = receipt.batch!;
    const [event] = await chain().getContractEvents({
      address: tn.net.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { batch: batch.index },
      fromBlock: batch.block,
      toBlock: batch.block,
      strict: true,
    });
    assert.ok(event, "the batch the receipt names is on chain");
    assert.equal(event.args.head, batch.head);
    assert.equal(event.args.seq, batch.seq);
    assert.equal(await client.query("balanceOf", {}), 9n);
    // At a depth the chain has not reached, the same receipt is applied but not yet final.
    const deep = await connect(HONEST, 1_000_000n);
    assert.equal((await deep.checkReceipt(receipt)).final, false);

    // Each field the client compares, changed, is refused.
    const other: Hex = `0x${"77".repeat(32)}`;
    for (const lie of [
      { ...batch, head: other },
      { ...batch, seq: batch.seq + 1n },
      { ...batch, index: batch.index + 1n },
      { ...batch, block: batch.block - 1n },
      { ...batch, block: batch.block + 1000n },
    ]) {
      await assert.rejects(client.checkReceipt({ ...receipt, batch: lie }), refused("receipt_not_on_chain"));
    }
    await assert.rejects(
      client.checkReceipt({ ...receipt, sequence: receipt.sequence + 1n }),
      refused("receipt_not_on_chain"),
    );
    const at = { seq: batch.seq, head: batch.head, block: batch.block };
    await client.checkAnswer(at);
    for (const lie of [
      { ...at, head: other },
      { ...at, seq: at.seq + 1n },
      { ...at, block: at.block + 1n },
      { seq: 0n, head: other, block: 0n },
    ])
      await assert.rejects(client.checkAnswer(lie), refused("answer_from_fork"));
  });

  test("a host that feeds its enclave a batch it never submitted: the receipt and the answers are refused", async () => {
    const node = tn.net.nodes[LYING]!.node;
    const client = await connect(LYING);
    const batchesBefore = await read("batchCount");
    // The host keeps every batch its enclave seals off the chain.
    const kept: BatchOffer[] = [];
    const realCall = node.enclave.callUnchecked.bind(node.enclave);
    node.enclave.callUnchecked = async (name: string, args: unknown) => {
      const result = await realCall(name, args);
      if (name !== "sealBatch") return result;
      const sealed = result as { batches: BatchOffer[] };
      kept.push(...sealed.batches.filter((b) => b.ciphertext !== undefined));
      return { ...sealed, batches: [] };
    };
    try {
      const { id, responseKey } = await client.send("transfer", {
        to: newAccount().address,
        amount: 4,
      });
      const offer = await until("the enclave to seal the batch", () => kept[0]);
      // The forged event: the next index, sequence and place in the event sequence, its head
      // computed as the contract would (the inputs are public), in a block the chain has (which
      // holds no such batch).
      const [index, first, seq, head, block] = await Promise.all([
        read("batchCount"),
        read("commandCount"),
        read("eventCount"),
        read("eventHead"),
        chain().getBlockNumber({ cacheTime: 0 }),
      ]);
      const unplaced = {
        kind: "BatchSubmitted",
        batch: index.toString(),
        baseSeq: offer.baseSeq,
        epoch: offer.epoch,
        firstSequence: first.toString(),
        count: offer.count,
        enclave: offer.enclave,
        stateDigest: offer.stateDigest,
        ciphertext: offer.ciphertext!,
        signature: offer.signature,
      } as const;
      const timestamp = (await chain().getBlock({ blockNumber: block })).timestamp;
      const forged: LedgerEvent = {
        ...unplaced,
        ...{ seq: (seq + 1n).toString(), timestamp: timestamp.toString(), block: block.toString() },
        head: positionAfter({ seq, head }, unplaced, timestamp).head,
        logIndex: 1000,
      };
      await realCall("applyEvents", { events: [forged] });
      // The enclave applied it: the node says `applied` and holds a receipt sealed to Alice.
      const said = await node.commandStatus(id);
      assert.equal(said.status, "ordered");
      assert.ok(said.receipt);
      await assert.rejects(client.waitForReceipt(id, responseKey), refused("receipt_not_on_chain"));
      await assert.rejects(client.status(id, responseKey), refused("receipt_not_on_chain"));
      // Its answers reflect the forked order of batches: refused too.
      await assert.rejects(client.query("balanceOf", {}), refused("answer_from_fork"));
      await assert.rejects(client.nextNonce(), refused("answer_from_fork"));
    } finally {
      node.enclave.callUnchecked = realCall;
    }
    assert.equal(await read("batchCount"), batchesBefore, "the batch never reached the chain");

    // The same client, against the honest node: the transfer the lying node showed never happened.
    const honest = await connect(HONEST);
    assert.equal(await honest.query("balanceOf", {}), 9n);
    const receipt = await honest.call("transfer", { to: newAccount().address, amount: 2 });
    assert.equal(receipt.status, "applied");
    assert.equal(receipt.final, true);
    assert.equal(await honest.query("balanceOf", {}), 7n);
  });
});
