// Bringing a node's enclave back after its process exited, or back to a checkpoint before a chain
// reorganisation: one recovery at a time; a reorganisation reported during one is rolled back once it
// ends, to the older of the points asked for.
import type { EventCursor } from "../boundary/chain-events.js";
import type { SessionMode } from "../boundary/host-handshake.js";
import type { EnclaveCalls } from "./enclave-process.js";
import { freshEnclave, untilRestarted } from "./enclave-restart.js";
import type { SupervisedEnclave } from "./enclave-supervisor.js";
import type { Logger } from "./log.js";
import { rollBack } from "./rollback.js";
import type { SealedCopy, SealedStore } from "./sealed-store.js";

export type NodeRecoveryParameters = {
  enclave: SupervisedEnclave;
  store: SealedStore;
  log: Logger;
  /** Whom the fresh enclave must unseal itself as. */
  identity: { hostDir: string; chainId: number; contract: `0x${string}` };
  /** Aborted when the node stops: ends the wait between attempts. */
  signal: AbortSignal;
  /** Stops reading the chain and sending: nothing is batched from a state being replayed. */
  pause(): Promise<void>;
  /**
   * Hands `enclave` what the host kept sealed, or has an enclave that kept its state resend it; the
   * cursor it resumes reading the chain from.
   */
  restore(enclave: EnclaveCalls, sealed: SealedCopy | undefined): Promise<EventCursor | undefined>;
  /** Reads the chain from `cursor` and sends again; false when the restored enclave had diverged. */
  resume(cursor: EventCursor | undefined): boolean;
};

export class NodeRecovery {
  private running = false;
  /** A rollback asked for while a recovery ran: the block to roll back to once it ends. */
  private rollbackPending: bigint | undefined;

  constructor(private readonly p: NodeRecoveryParameters) {}

  /**
   * A new enclave process, its identity unsealed, its state restored from what the host kept (with
   * `rollbackTo`, from the newest checkpoint at or before that block), the chain read again from
   * there. Calls are refused with `enclave_restarting` meanwhile; attempts back off until one
   * succeeds or the node stops.
   */
  async recover(rollbackTo?: bigint): Promise<void> {
    if (this.p.signal.aborted) return;
    if (this.running) {
      // Its follower was still reading when the enclave went: rolled back once this recovery ends.
      if (
        rollbackTo !== undefined &&
        (this.rollbackPending === undefined || rollbackTo < this.rollbackPending)
      )
        this.rollbackPending = rollbackTo;
      return;
    }
    this.running = true;
    const started = Date.now();
    try {
      await this.p.pause();
      const restored = await untilRestarted(() => this.restoreFresh(rollbackTo), this.p.log, this.p.signal);
      if (!restored) return;
      this.p.enclave.up();
      if (!this.p.resume(restored.value)) return;
      this.p.log.info(
        { afterMs: Date.now() - started },
        "enclave restored; reading the chain from its checkpoint",
      );
    } finally {
      this.running = false;
    }
    const pending = this.rollbackPending;
    this.rollbackPending = undefined;
    if (pending !== undefined) await this.recover(pending);
  }

  private async restoreFresh(rollbackTo: bigint | undefined): Promise<EventCursor | undefined> {
    // After an exit, an enclave served in a VM that outlived the connection is continued (restore
    // below finds it holds its state); a rollback needs a new process.
    if (rollbackTo === undefined) return this.p.restore(await this.fresh("resume"), this.p.store.read());
    const fresh = () => this.fresh("fresh");
    return rollBack(this.p.store, await fresh(), rollbackTo, { restore: this.p.restore, fresh });
  }

  private fresh(session: SessionMode): Promise<EnclaveCalls> {
    return freshEnclave(this.p.enclave, this.p.identity, session);
  }
}
