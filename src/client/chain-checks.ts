// What the client checks on chain before it believes a node: that a receipt's batch is the
// contract's (and when it is final), and that a query answer reflects a state the chain holds. A node
// that applied a batch never submitted, or answers from a fork, is caught here.
import { type DecodeEventLogReturnType, decodeEventLog, type Hex, numberToHex, pad } from "viem";
import { getBlockNumber, getLogs } from "viem/actions";
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

/** The contract's event at one position of its sequence, decoded. */
type SequencedLog = Extract<
  DecodeEventLogReturnType<typeof anonifyAbi>,
  { args: { seq: bigint; head: Hex } }
>;

export class ChainChecks {
  constructor(
    /** The chain, from the user's network profile. */
    private readonly chain: ChainClient,
    private readonly target: ChainTarget,
    /** Blocks that must follow a batch for `final` (default: 0 on the devnet, else 12). */
    private readonly confirmations?: bigint,
  ) {}

  /**
   * The contract's event at position `seq` of its sequence if block `block` holds it (with the
   * chain's head block number): every event of the sequence has its position as its first indexed
   * field, so one `eth_getLogs` of that block and topic finds it.
   */
  private async eventAt(seq: bigint, block: bigint): Promise<{ head: bigint; event?: SequencedLog }> {
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    if (block > head) return { head };
    const logs = await getLogs(this.chain, {
      address: this.target.contract,
      fromBlock: block,
      toBlock: block,
      topics: [null, pad(numberToHex(seq))],
    } as never);
    for (const log of logs) {
      if (log.removed) continue;
      let decoded: DecodeEventLogReturnType<typeof anonifyAbi>;
      try {
        decoded = decodeEventLog({ abi: anonifyAbi, data: log.data, topics: log.topics, strict: true });
      } catch {
        continue; // another event whose first topic happens to match
      }
      if ("seq" in decoded.args && decoded.args.seq === seq) return { head, event: decoded as SequencedLog };
    }
    return { head };
  }

  /**
   * Checks an ordered receipt against the chain: the contract's event at the position the receipt's
   * batch names is a `BatchSubmitted` of that index, in the block named, with the same event chain
   * head, and its sequence range holds the receipt's sequence (`receipt_not_on_chain` if not). Returns
   * whether the batch is final: at least `confirmations` blocks deep, or at or below the chain's
   * finalized block. Check a receipt again later to see it become final.
   */
  async checkReceipt(receipt: CommandReceipt): Promise<CheckedReceipt> {
    const batch: BatchRef | undefined = receipt.batch;
    const refuse = (why: string) =>
      new AnonifyClientError(
        "receipt_not_on_chain",
        `the receipt of ${receipt.command} names ${why}: the chain does not hold the batch it claims`,
      );
    if (!batch) throw refuse("no batch");
    const { head, event } = await this.eventAt(batch.seq, batch.block);
    if (event?.eventName !== "BatchSubmitted" || event.args.batch !== batch.index)
      throw refuse(
        `batch ${batch.index} at event ${batch.seq} in block ${batch.block}, where the contract has none`,
      );
    if (event.args.head.toLowerCase() !== batch.head.toLowerCase())
      throw refuse(`batch ${batch.index} with another event head than the contract's`);
    const { firstSequence, count } = event.args;
    if (receipt.sequence < firstSequence || receipt.sequence >= firstSequence + BigInt(count))
      throw refuse(`sequence ${receipt.sequence}, outside batch ${batch.index}`);
    return { ...receipt, final: await this.isFinal(batch.block, head) };
  }

  private isFinal(block: bigint, head: bigint): Promise<boolean> {
    return isFinal(this.chain, block, head, finalityDepth(this.target.chainId, this.confirmations));
  }

  /**
   * Checks the point an answer names against the chain: the contract's event at position `seq` of
   * its sequence is in the block named, with the event chain's head `head` after it (position 0: the
   * zero hash). Throws `answer_from_fork` if not: the node answered from a history the chain does not hold.
   */
  async checkAnswer(at: LedgerPoint): Promise<void> {
    const refuse = (why: string) =>
      new AnonifyClientError(
        "answer_from_fork",
        `the answer reflects ${why}: a state the chain does not hold (event head ${at.head})`,
      );
    if (at.seq === 0n) {
      if (at.head.toLowerCase() !== ZERO_HASH) throw refuse("no event, with a head");
      return;
    }
    const { event } = await this.eventAt(at.seq, at.block);
    if (!event) throw refuse(`event ${at.seq} in block ${at.block}, where the contract has none`);
    if (event.args.head.toLowerCase() !== at.head.toLowerCase())
      throw refuse(`event ${at.seq} with another head than the contract's`);
  }
}
