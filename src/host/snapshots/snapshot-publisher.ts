// The producing side of state snapshots, in a member's host: when its enclave captured a snapshot
// for joiners (a `SnapshotOffer` in an apply's answer), the host reads the bytes out, stores them by
// hash to serve them, and — if its enclave committed the handshake that added the joiners — commits
// the hash on chain (`commitSnapshot`, signed by the enclave for its record nonce). Every complete
// member holds the same bytes; if no commitment of them appears within FALLBACK_MS (the committer's
// node went down), the others commit the hash themselves, so a joiner is not stranded.
import type { Address, Hex } from "viem";
import type { SnapshotOffer } from "../../boundary/call-results.js";
import type { LedgerWallet } from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import type { ChainWriter } from "../chain-io/chain-writer.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { FailureLog, firstLine, type Logger } from "../log.js";
import { onChainState } from "../registration.js";
import { type SnapshotStore, snapshotHashOf } from "./snapshot-store.js";

/** How long a member that did not commit the handshake waits for the committer's commitment. */
export const FALLBACK_MS = 20_000;
/** Between attempts of a commitment that failed. */
const RETRY_MS = 2_000;

export type SnapshotPublisherOptions = {
  enclave: EnclaveCalls;
  store: SnapshotStore;
  writer: ChainWriter;
  wallet: LedgerWallet;
  contract: Address;
  self: () => Address;
  log: Logger;
  fallbackMs?: number;
};

type Pending = { offer: SnapshotOffer; notBefore: number };

export class SnapshotPublisher {
  private pending: Pending[] = [];
  private readonly failures: FailureLog;

  constructor(private readonly options: SnapshotPublisherOptions) {
    this.failures = new FailureLog(options.log, "snapshot commitment");
  }

  /**
   * Reads out and stores the snapshots an apply produced, and schedules their commitments. A snapshot
   * that cannot be read out (its enclave restarted and forgot the bytes) is logged and left to the
   * other members, which hold the same bytes: the apply it came with stands.
   */
  async take(offers: readonly SnapshotOffer[]): Promise<void> {
    const { store, log } = this.options;
    for (const offer of offers) {
      try {
        if (!store.has(offer.hash)) store.write(await this.readOut(offer), offer.hash);
      } catch (error) {
        log.warn({ slot: offer.slot, hash: offer.hash }, `state snapshot not stored: ${firstLine(error)}`);
        continue;
      }
      log.info(
        {
          slot: offer.slot,
          sequence: offer.sequence,
          hash: offer.hash,
          bytes: offer.size,
          committer: offer.commit,
        },
        "state snapshot for joiners stored",
      );
      const wait = offer.commit ? 0 : (this.options.fallbackMs ?? FALLBACK_MS);
      this.pending.push({ offer, notBefore: Date.now() + wait });
    }
  }

  /** The bytes of a snapshot the enclave holds, read in pieces that fit the boundary's frames. */
  private async readOut(offer: SnapshotOffer): Promise<Buffer> {
    const parts: Buffer[] = [];
    let received = 0;
    let total = Number.POSITIVE_INFINITY;
    while (received < total) {
      const chunk = await this.options.enclave.call("snapshotChunk", { hash: offer.hash, offset: received });
      const part = Buffer.from(chunk.bytes.slice(2), "hex");
      total = chunk.total;
      received += part.length;
      if (part.length === 0 || received > total)
        throw new Error("the enclave's snapshot pieces do not add up");
      parts.push(part);
    }
    const bytes = Buffer.concat(parts, received);
    if (snapshotHashOf(bytes) !== offer.hash)
      throw new Error("the enclave's snapshot bytes do not match their hash");
    return bytes;
  }

  /** Whether the chain already holds a commitment of this snapshot (by anyone). */
  private async committed(offer: SnapshotOffer): Promise<boolean> {
    const logs = await this.options.wallet.publicClient.getContractEvents({
      address: this.options.contract,
      abi: anonifyAbi,
      eventName: "SnapshotCommitted",
      fromBlock: BigInt(offer.block),
      toBlock: "latest",
      strict: true,
    });
    return logs.some((l) => l.args.epoch === BigInt(offer.slot) && l.args.snapshotHash === offer.hash);
  }

  /**
   * Commits one due snapshot hash, if any is due; run by the node's tick, so that the node's chain
   * writes go one at a time. Whether it sent (or tried to send) a transaction.
   */
  async commitDue(): Promise<boolean> {
    const now = Date.now();
    const due = this.pending.find((p) => p.notBefore <= now);
    if (!due) return false;
    const { offer } = due;
    const drop = () => {
      this.pending = this.pending.filter((p) => p !== due);
    };
    try {
      if (await this.committed(offer)) {
        drop();
        if (!offer.commit)
          this.options.log.info(
            { slot: offer.slot, hash: offer.hash },
            "state snapshot committed by its committer",
          );
        return false;
      }
      const { wallet, contract, enclave, writer, log } = this.options;
      const { recordNonce } = await onChainState(wallet, contract, this.options.self());
      const signed = await enclave.call("signSnapshot", { nonce: recordNonce.toString(), hash: offer.hash });
      const sent = await writer.send("commitSnapshot", [
        recordNonce,
        BigInt(signed.slot),
        BigInt(signed.at),
        signed.stateDigest,
        offer.hash as Hex,
        signed.signature,
      ]);
      if (sent) {
        drop();
        this.failures.succeeded();
        log.info(
          { slot: offer.slot, sequence: offer.sequence, hash: offer.hash, fallback: !offer.commit },
          "state snapshot committed on chain",
        );
      } else due.notBefore = Date.now() + RETRY_MS;
    } catch (error) {
      this.failures.failed(error);
      due.notBefore = Date.now() + RETRY_MS;
    }
    return true;
  }
}
