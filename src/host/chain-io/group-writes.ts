// What a node writes to the chain for its group on each tick: its key package once (signed by the
// enclave for its record nonce), then whatever handshake its enclave proposes (genesis, adds,
// removals, a rotation asked for), a due snapshot commitment, or else its batches.
import type { Address } from "viem";
import type { GroupSummary } from "../../boundary/call-results.js";
import type { LedgerWallet } from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { onChainState } from "../registration.js";
import type { Keep } from "../sealed-store.js";
import type { SnapshotPublisher } from "../snapshots/snapshot-publisher.js";
import type { BatchSubmitter } from "./batch-submitter.js";
import type { ChainWriter } from "./chain-writer.js";

const MS_PER_SECOND = 1000;
/** How often a host whose rotation waits for a newer block reads the newest block's time. */
const BLOCK_TIME_CHECK_MS = 1000;

export type GroupWritesDeps = {
  enclave: EnclaveCalls;
  writer: ChainWriter;
  wallet: LedgerWallet;
  contract: Address;
  publisher: SnapshotPublisher;
  batches: BatchSubmitter;
  address(): Address;
  keep: Keep;
};

export class GroupWrites {
  private rotateRequested = false;
  /** The slot at which the key package was sent: not sent again until the feed shows it. */
  private keyPackageSentAt: string | undefined;

  constructor(private readonly deps: GroupWritesDeps) {}

  /** Asks for a key rotation (an empty commit with a path update); it lands with a later tick. */
  requestRotation(): void {
    if (!this.rotateRequested) this.rotationAllowedAt = undefined; // read again: the owner may have changed it
    this.rotateRequested = true;
  }

  /** The block time from which the contract takes this enclave's next rotation (0: any), as read for this request. */
  private rotationAllowedAt: number | undefined;
  /** When this host last read the newest block's time for a rotation waiting (ms). */
  private blockTimeCheckedAt = 0;

  get rotationPending(): boolean {
    return this.rotateRequested;
  }

  /** One tick's writes, for a node whose enclave is in `group`. */
  async tick(group: GroupSummary): Promise<void> {
    const { enclave, writer, keep } = this.deps;
    if (!group.keyPackagePublished) {
      // Published but not yet seen in the event feed: wait for it rather than publish again.
      if (this.keyPackageSentAt !== undefined && group.slot === this.keyPackageSentAt) return;
      // The enclave signs for its record nonce on chain, so the signature is single-use.
      const { recordNonce } = await onChainState(this.deps.wallet, this.deps.contract, this.deps.address());
      const kp = await enclave.call("keyPackage", { nonce: recordNonce.toString() });
      keep(kp);
      if (await writer.send("publishKeyPackage", [recordNonce, kp.keyPackage, kp.signature]))
        this.keyPackageSentAt = group.slot;
      return;
    }
    // Snapshot commitments go with the node's other chain writes, one at a time.
    if (await this.deps.publisher.commitDue()) return;
    // A rotation waits for the contract's interval since this enclave's last one: asked for sooner,
    // the enclave would offer it again each tick until it lands, holding back any add or removal.
    const rotate = this.rotateRequested && (await this.rotationAllowed());
    const proposal = await enclave.call("proposeHandshake", { rotate });
    keep(proposal);
    if (proposal.handshake === null) return this.deps.batches.submit();
    const ok = await writer.send("commitHandshake", [
      BigInt(proposal.epoch),
      proposal.handshake,
      proposal.rotation,
      BigInt(proposal.baseSeq),
      proposal.signature,
    ]);
    if (ok && proposal.rotation) {
      this.rotateRequested = false;
      this.rotationAllowedAt = undefined; // its own rotation moved it: read again for the next request
    }
  }

  /**
   * Whether the contract takes a rotation from this enclave now: its interval since the last one
   * passed by the chain's newest block, at which the write is simulated (on an idle chain that block
   * is older than this host's clock; offered sooner, the rotation would be refused tick after tick,
   * holding back the batches). The interval is read once per request; the block at most once per
   * BLOCK_TIME_CHECK_MS, and only once the host's clock says it may have passed.
   */
  private async rotationAllowed(): Promise<boolean> {
    const { wallet, contract } = this.deps;
    if (this.rotationAllowedAt === undefined) {
      const [record, interval] = await Promise.all([
        onChainState(wallet, contract, this.deps.address()),
        wallet.publicClient.readContract({
          address: contract,
          abi: anonifyAbi,
          functionName: "rotationInterval",
        }),
      ]);
      this.rotationAllowedAt = record.lastRotation === 0 ? 0 : record.lastRotation + interval;
    }
    if (this.rotationAllowedAt === 0) return true;
    const now = Date.now();
    if (now / MS_PER_SECOND < this.rotationAllowedAt || now - this.blockTimeCheckedAt < BLOCK_TIME_CHECK_MS)
      return false;
    this.blockTimeCheckedAt = now;
    const { timestamp } = await wallet.publicClient.getBlock({ blockTag: "latest" });
    return timestamp >= BigInt(this.rotationAllowedAt);
  }
}
