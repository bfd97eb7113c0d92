// Sends the enclave's sealed batches to the contract in order, several in flight, and sends them
// again after a failure; the enclave decides what is in a batch, this decides when it goes.
import type { Hex } from "viem";
import type { LedgerWallet } from "../../chain/chain.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { firstLine, type Logger } from "../log.js";
import type { StageMetrics } from "../metrics.js";
import type { NodeMetrics } from "../node-metrics.js";
import type { SealedStore } from "../sealed-store.js";
import { type BlockClock, batchesInFlightAllowed, observeHead } from "./batch-policy.js";
import type { ChainWriter } from "./chain-writer.js";

export const DEFAULT_MAX_BATCHES_IN_FLIGHT = 6;
/**
 * Gas for a batch sent behind others (it cannot be simulated before they land): above the EIP-7623
 * calldata floor (40 gas per non-zero byte, and ciphertext is random) plus the call's own work.
 */
const SUBMIT_BATCH_BASE_GAS = 100_000n;
const SUBMIT_BATCH_GAS_PER_BYTE = 64n;

export type BatchSubmitterOptions = {
  enclave: EnclaveCalls;
  writer: ChainWriter;
  wallet: LedgerWallet;
  store: SealedStore;
  metrics: StageMetrics;
  counts: NodeMetrics;
  log: Logger;
  maxBatchCommands: number;
  maxBatchesInFlight: number;
  /** Called after every `rotateEveryBatches` batches sent (the rotation policy); off when omitted. */
  rotateEveryBatches?: number;
  onRotationDue: () => void;
};

export class BatchSubmitter {
  /**
   * Batches broadcast and not known to have failed, by enclave signature, in the order sent: the
   * transaction, and the block it was mined in once its receipt came.
   */
  private readonly sent = new Map<Hex, { hash: Hex; minedAt?: bigint }>();
  /** The chain head up to which the follower has applied every event. */
  private appliedThrough = -1n;
  /** The ciphertexts of the enclave's batches in flight, by enclave signature. */
  private ciphertexts = new Map<Hex, Hex>();
  private batchesSent = 0;
  private lastOpenedAt = 0;
  /** Batches the enclave had in flight at the last call. */
  private inFlightAtEnclave = 0;
  /** Commands the enclave had queued at the last call: a full batch need not linger. */
  private queuedAtEnclave = 0;
  /** When the chain head advanced, as the follower saw it: the block time, if there is one. */
  private blockClock: BlockClock | undefined;
  private maxBatchCommands: number;

  constructor(private readonly options: BatchSubmitterOptions) {
    this.maxBatchCommands = options.maxBatchCommands;
  }

  /**
   * Forgets what was sent: after the enclave is restored from a checkpoint, each batch it offers is
   * sent again unless its event is applied first (a copy already mined fails on its batch nonce).
   */
  reset(): void {
    this.sent.clear();
    this.appliedThrough = -1n;
    this.ciphertexts.clear();
    this.inFlightAtEnclave = 0;
  }

  /** Changes the most commands a batch may hold. */
  configure(maxBatchCommands: number): void {
    this.maxBatchCommands = maxBatchCommands;
  }

  /** The chain head the follower caught up to (how the batch policy learns the block time). */
  observeHead(head: bigint): void {
    this.blockClock = observeHead(this.blockClock, head, Date.now());
    this.appliedThrough = head;
  }

  /**
   * Submits the enclave's batches in order, several in flight (when a new one opens:
   * `batchesInFlightAllowed`), so under slow blocks commands need not wait for the previous batch
   * to land before they are sent.
   */
  async submit(): Promise<void> {
    const { enclave, metrics, store } = this.options;
    // Read before the enclave answers: a batch it still offers was not ordered up to this head.
    const appliedThrough = this.appliedThrough;
    const maxInFlight = batchesInFlightAllowed({
      now: Date.now(),
      lastOpenedAt: this.lastOpenedAt,
      inFlight: this.inFlightAtEnclave,
      queued: this.queuedAtEnclave,
      maxCommands: this.maxBatchCommands,
      maxInFlight: this.options.maxBatchesInFlight,
      clock: this.blockClock,
    });
    const sealed = await metrics.time("batching", () =>
      enclave.call("sealBatch", {
        maxCommands: this.maxBatchCommands,
        maxInFlight: Math.max(1, maxInFlight),
        // Offered on every tick until they land: their ciphertexts (up to 16 KiB each) cross once.
        known: [...this.ciphertexts.keys()],
      }),
    );
    store.keep(sealed);
    this.queuedAtEnclave = sealed.queued;
    this.inFlightAtEnclave = sealed.batches.length;
    const ciphertexts = new Map<Hex, Hex>();
    for (const b of sealed.batches) {
      const ciphertext = b.ciphertext ?? this.ciphertexts.get(b.signature);
      if (!ciphertext)
        throw new Error(`the enclave left out batch ${b.nonce}, which this host does not hold`);
      ciphertexts.set(b.signature, ciphertext);
    }
    this.ciphertexts = ciphertexts;
    for (const [signature, sent] of this.sent) {
      // Mined in a block whose events were all applied, yet still offered: a reorganisation took
      // that block away before this node read it. Sent again (its batch nonce is free again).
      const dropped = sent.minedAt !== undefined && sent.minedAt <= appliedThrough;
      if (!ciphertexts.has(signature) || dropped) this.sent.delete(signature);
    }
    for (const [position, batch] of sealed.batches.entries()) {
      // A batch already sent is offered again until its event is applied: do not send it twice.
      if (this.sent.has(batch.signature)) continue;
      const ciphertext = ciphertexts.get(batch.signature)!;
      // Only the oldest can be simulated: the others' batch nonces are valid once those before them land.
      const gas =
        position === 0
          ? undefined
          : SUBMIT_BATCH_BASE_GAS + SUBMIT_BATCH_GAS_PER_BYTE * BigInt(ciphertext.length / 2);
      const hash = await this.options.writer.broadcast(
        "submitBatch",
        [
          BigInt(batch.epoch),
          ciphertext,
          batch.count,
          batch.enclave,
          BigInt(batch.baseSeq),
          batch.stateDigest,
          batch.signature,
        ],
        gas,
      );
      if (!hash) return; // those behind it would fail; the next tick sends them in order again
      this.sent.set(batch.signature, { hash });
      this.options.counts.batchSubmitted();
      this.lastOpenedAt = Date.now();
      this.batchesSent++;
      const every = this.options.rotateEveryBatches;
      if (every && this.batchesSent % every === 0) this.options.onRotationDue();
      void this.watch(batch.signature, batch.nonce, hash);
    }
  }

  /** Waits for a batch's receipt; if it did not land, it and every batch sent after it go again. */
  private async watch(signature: Hex, nonce: string, hash: Hex): Promise<void> {
    const outcome = await this.options.metrics
      .time("chain-inclusion", () => this.options.wallet.publicClient.waitForTransactionReceipt({ hash }))
      .then(
        (receipt) => {
          const sent = this.sent.get(signature);
          if (sent?.hash === hash) sent.minedAt = receipt.blockNumber;
          return receipt.status === "success" || "reverted";
        },
        (error: unknown) => `receipt not read: ${firstLine(error)}`,
      );
    if (outcome === true) return;
    this.options.counts.batchFailed(outcome === "reverted" ? "reverted" : "receipt_unread");
    this.options.log.warn({ nonce, outcome }, "batch not ordered; it is sent again");
    // Behind a failed batch the later ones fail too.
    let after = false;
    for (const sent of [...this.sent.keys()]) {
      after ||= sent === signature;
      if (after) this.sent.delete(sent);
    }
  }
}
