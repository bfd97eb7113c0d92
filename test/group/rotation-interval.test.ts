// A rotation asked for while the contract's interval runs waits for it without holding anything
// else back. The contract judges the interval by the block's time, and a write is simulated at the
// latest block: on an idle chain that block is older than the host's clock, so a host going by its
// clock alone offered a rotation the contract refused, tick after tick, and sent no batch meanwhile.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, http } from "viem";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { anvilKey, ownerCall } from "../support/chain.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

/** The devnet's contract owner: Anvil's first account. */
const OWNER_ACCOUNT = 0;
const INTERVAL_S = 2;

describe("a rotation asked for on an idle chain", () => {
  let tn: TestNet;
  let token: Token;

  before(async () => {
    tn = await startTestNet(2);
    token = await issueToken(tn);
    const owner = withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(OWNER_ACCOUNT));
    await ownerCall({ owner, contract: tn.net.contract }, "setRotationInterval", [INTERVAL_S]);
  });
  after(async () => {
    await tn?.stop();
  });

  const slotOf = async () => BigInt((await tn.running()[0]!.groupStatus()).group.slot);

  test("waits for a block past the interval; the node's commands apply meanwhile, then it lands", async () => {
    const node = tn.running()[0]!;
    const alice = await token.fundedAccount(10n);
    const chain = createPublicClient({ transport: http(tn.net.rpcUrl) });
    const first = await slotOf();
    node.requestRotation();
    await until("the first rotation landed", async () => ((await slotOf()) > first ? true : undefined));
    // Let the interval pass by the clock while no block is mined: the chain's newest block is older.
    const { lastRotation } = await chain.readContract({
      address: tn.net.contract,
      abi: anonifyAbi,
      functionName: "getEnclave",
      args: [node.address],
    });
    await until(
      "the interval passed by the clock",
      () => (Date.now() / 1000 > lastRotation + INTERVAL_S + 1 ? true : undefined),
      (INTERVAL_S + 5) * 1000,
    );
    const second = await slotOf();
    node.requestRotation();
    const client = await tn.client(alice, 0);
    const receipt = await client.call("transfer", { to: newAccount().address, amount: 1 }, undefined, 20_000);
    assert.equal(receipt.status, "applied", "the transfer is not held back by the waiting rotation");
    await until("the second rotation landed", async () => ((await slotOf()) > second ? true : undefined));
    assert.equal(node.rotationPending, false);
  });
});
