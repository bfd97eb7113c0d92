// The whole path on Hardhat's network (EDR), an Ethereum implementation independent of Anvil; first,
// the facts the fixtures rely on: its chain id, the development mnemonic's accounts funded, and a
// block mined for each transaction.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseEther } from "viem";
import { DEFAULT_CHAIN_ID } from "../../src/chain/anvil.js";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { anvilKey } from "../support/chain.js";
import { type HardhatNode, startHardhat } from "../support/hardhat.js";
import { describeChainPath } from "./chain-path.js";

/** The accounts the fixtures pay gas from: the owner and up to 7 nodes. */
const ACCOUNTS_USED = 8;

describe("Hardhat's network as the fixtures start it", () => {
  let hardhat: HardhatNode;
  before(async () => {
    hardhat = await startHardhat();
  });
  after(() => hardhat?.stop());

  test("chain id 31337, Anvil's development accounts funded, a block per transaction", async () => {
    const ledger = await connectLedger(hardhat.rpcUrl);
    assert.equal(ledger.chain.id, DEFAULT_CHAIN_ID);
    for (let i = 0; i < ACCOUNTS_USED; i++) {
      const { address } = withWallet(ledger, anvilKey(i)).account;
      assert.ok((await ledger.publicClient.getBalance({ address })) >= parseEther("1000"), address);
    }
    const wallet = withWallet(ledger, anvilKey(ACCOUNTS_USED));
    const before = await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    const hash = await wallet.walletClient.sendTransaction({ to: wallet.account.address, value: 1n });
    // Auto-mine: the receipt exists as soon as the transaction was accepted, in the next block.
    const receipt = await ledger.publicClient.getTransactionReceipt({ hash });
    assert.equal(receipt.blockNumber, before + 1n);
  });
});

describeChainPath("Hardhat", () => startHardhat());
