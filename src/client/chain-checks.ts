// What the client checks on chain before it believes a node: that a receipt's batch is the
// contract's (and when it is final), and that a query answer reflects a state the chain holds. A node
// that applied a batch never submitted, or answers from a fork, is caught here.
import { keccak256 } from "viem";
import { getBlockNumber, getContractEvents } from "viem/actions";
import { finalityDepth, isFinal } from "../chain/finality.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { ZERO_HASH } from "../protocol/digests.js";
import type { BatchRef, LedgerPoint } from "../protocol/receipts.js";
import type { ChainClient } from "./chain-client.js";
import type { CommandReceipt } from "./command.js";
import { AnonifyClientError } from "./errors.js";
import type { ChainTarget } from "./network-profile-format.js";

/** A receipt the client checked on chain: its batch is the contract's; `final` once deep enough. */
export type CheckedReceipt = CommandReceipt & { final: boolean };

export class ChainChecks {
  constructor(
    /** The chain, from the user's network profile. */
    private readonly chain: ChainClient,
    private readonly target: ChainTarget,
    /** Blocks that must follow a batch for `final` (default: 0 on the devnet, else 12). */
    private readonly confirmations?: bigint,
  ) {}

  /** The `BatchSubmitted` event of batch `index` in `block`, as the chain holds it (none: undefined). */
  private async batchOnChain(index: bigint, block: bigint) {
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    if (block > head) return { head, event: undefined };
    const logs = await getContractEvents(this.chain, {
      address: this.target.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { batch: index },
      fromBlock: block,
      toBlock: block,
      strict: true,
    });
    const event = logs.find((l) => !l.removed && l.args.batch === index && l.blockNumber === block)?.args;
    return { head, event };
  }

  /**
   * Checks an ordered receipt against the chain: the contract's `BatchSubmitted` event of the batch
   * it names is in the block it names, with the same ciphertext hash and batch head, and its
   * sequence range holds the receipt's sequence (`receipt_not_on_chain` if not). Returns whether
   * the batch is final: at least `confirmations` blocks deep, or at or below the chain's finalized
   * block. Check a receipt again later to see it become final.
   */
  async checkReceipt(receipt: CommandReceipt): Promise<CheckedReceipt> {
    const batch: BatchRef | undefined = receipt.batch;
    const refuse = (why: string) =>
      new AnonifyClientError(
        "receipt_not_on_chain",
        `the receipt of ${receipt.command} names ${why}: the chain does not hold the batch it claims`,
      );
    if (!batch) throw refuse("no batch");
    const { head, event } = await this.batchOnChain(batch.index, batch.block);
    if (!event) throw refuse(`batch ${batch.index} in block ${batch.block}, where the contract ordered none`);
    if (keccak256(event.ciphertext) !== batch.ciphertextHash.toLowerCase())
      throw refuse(`batch ${batch.index} with another ciphertext than the contract's`);
    if (event.head.toLowerCase() !== batch.head.toLowerCase())
      throw refuse(`batch ${batch.index} with another batch head than the contract's`);
    if (
      receipt.sequence < event.firstSequence ||
      receipt.sequence >= event.firstSequence + BigInt(event.count)
    )
      throw refuse(`sequence ${receipt.sequence}, outside batch ${batch.index}`);
    return { ...receipt, final: await this.isFinal(batch.block, head) };
  }

  private isFinal(block: bigint, head: bigint): Promise<boolean> {
    return isFinal(this.chain, block, head, finalityDepth(this.target.chainId, this.confirmations));
  }

  /**
   * Checks the ledger point an answer names against the chain: the contract's batch `batches − 1`
   * in the block named ends at `sequence` with batch head `head` (none ordered: the genesis head).
   * Throws `answer_from_fork` if not: the node answered from an order of batches the chain does not hold.
   */
  async checkAnswer(at: LedgerPoint): Promise<void> {
    const refuse = (why: string) =>
      new AnonifyClientError(
        "answer_from_fork",
        `the answer reflects ${why}: a state the chain does not hold (batch head ${at.head})`,
      );
    if (at.batches === 0n || at.block === undefined) {
      if (at.batches !== 0n || at.sequence !== 0n || at.head.toLowerCase() !== ZERO_HASH)
        throw refuse("an empty ledger with a head or commands");
      return;
    }
    const { event } = await this.batchOnChain(at.batches - 1n, at.block);
    if (!event)
      throw refuse(`batch ${at.batches - 1n} in block ${at.block}, where the contract ordered none`);
    if (event.head.toLowerCase() !== at.head.toLowerCase())
      throw refuse(`batch ${at.batches - 1n} with another batch head than the contract's`);
    if (event.firstSequence + BigInt(event.count) !== at.sequence)
      throw refuse(`sequence ${at.sequence}, which batch ${at.batches - 1n} does not end at`);
  }
}
