import type { Hex } from "viem";
import type {
  AppSummary,
  Divergence,
  GroupSummary,
  GroupView,
  LedgerSummary,
  PublicQueryResult,
} from "../boundary/call-results.js";
import type { EventCursor } from "../boundary/chain-events.js";
import { EnclaveCallError } from "../boundary/frames.js";
import { EventFollower, type FollowerStatus } from "../chain/follower.js";
import type { BatchSubmitter } from "./chain-io/batch-submitter.js";
import type { ChainWriter } from "./chain-io/chain-writer.js";
import type { EventApplication } from "./chain-io/event-application.js";
import type { GroupWrites } from "./chain-io/group-writes.js";
import type { PublicOutputs } from "./chain-io/public-outputs.js";
import type { CommandFinality, NodeCommandStatus, WaitUntil } from "./commands/command-finality.js";
import type { CommandRequests } from "./commands/command-requests.js";
import { CommandWaiters } from "./commands/command-waiters.js";
import type { EnclaveCalls } from "./enclave-process.js";
import { restoreOrResume } from "./enclave-resume.js";
import type { EnclaveState, SupervisedEnclave } from "./enclave-supervisor.js";
import { type LeaveResult, sendLeave } from "./leave.js";
import { FailureLog, HeldLog, type Logger, loggerFor } from "./log.js";
import { StageMetrics } from "./metrics.js";
import { NodeHealth, type NodeWarning } from "./node-health.js";
import { NodeMetrics } from "./node-metrics.js";
import type { EnclaveNodeOptions } from "./node-options.js";
import { assembleNode } from "./node-parts.js";
import { NodeRecovery } from "./node-recovery.js";
import { type EnclaveRegistration, initAndRegister, publicRecord } from "./registration.js";
import type { Keep, SealedCopy, SealedStore } from "./sealed-store.js";
import type { PeerAnnouncer } from "./snapshots/peer-announcer.js";
import type { SnapshotPublisher } from "./snapshots/snapshot-publisher.js";
import type { SnapshotStore } from "./snapshots/snapshot-store.js";
import type { PeerState, SnapshotSync } from "./snapshots/snapshot-sync.js";
import { Ticker } from "./ticker.js";

export { SEALED_STATE_FILE } from "./sealed-store.js";

/** How often the host asks its enclave for a handshake or a batch to send. */
const TICK_MS = 25;
/** How often the host polls the chain for new events. */
const FOLLOW_POLL_MS = 50;
/**
 * Blocks after which the host no longer expects a reorganisation to reach (the checkpoints it keeps
 * for rollbacks cover them): two Ethereum epochs, when mainnet finalizes.
 */
const REORG_WINDOW_BLOCKS = 64n;

export type { EnclaveNodeOptions } from "./node-options.js";
export type { GroupSummary, LedgerSummary };

export class EnclaveNode {
  readonly enclave: SupervisedEnclave;
  readonly metrics = new StageMetrics();
  /** Commands and batches counted as they happen, for `/metrics`. */
  readonly counts = new NodeMetrics();
  private readonly health: NodeHealth;
  /** The enclaves this node's enclave declines to add (`GroupSummary.declined`), logged as they come and go. */
  private readonly declined: HeldLog<GroupSummary["declined"][number]>;
  /** The chain head up to which the follower has read every event. */
  private followed: bigint | undefined;
  registration: EnclaveRegistration | undefined;
  group: GroupSummary | undefined;
  private readonly log: Logger;
  private readonly store: SealedStore;
  private readonly writer: ChainWriter;
  private readonly batches: BatchSubmitter;
  private readonly waiters = new CommandWaiters();
  private readonly finality: CommandFinality;
  private readonly commands: CommandRequests;
  private follower: EventFollower | undefined;
  private readonly ticker: Ticker;
  private readonly syncFailures: FailureLog;
  /** State snapshots for joiners: those this node stores and serves, commits, and fetches. */
  readonly snapshots: SnapshotStore;
  private readonly publisher: SnapshotPublisher;
  private readonly snapshotSync: SnapshotSync;
  /** Announces `publicUrl` on chain, when the node has one. */
  private readonly announcer: PeerAnnouncer | undefined;
  private readonly events: EventApplication;
  /** Publishes the public outputs of the batches this node's enclave submitted. */
  private readonly outputs: PublicOutputs;
  private rotationTimer: NodeJS.Timeout | undefined;
  private readonly groupWrites: GroupWrites;
  private stopped = false;
  /** Aborted by `stop`: ends a recovery's wait between attempts. */
  private readonly stopping = new AbortController();
  private readonly recovery: NodeRecovery;
  private synced = false;
  /** Set once this enclave's leave is sent: the host sends nothing more for it. */
  private left = false;
  private divergence: Divergence | undefined;

  constructor(private readonly options: EnclaveNodeOptions) {
    this.log = loggerFor(options);
    this.ticker = new Ticker(() => this.tick(), this.log, "tick");
    this.syncFailures = new FailureLog(this.log, "chain sync");
    this.declined = new HeldLog(
      ({ enclave, reason }) =>
        this.log.warn({ enclave, reason }, `not adding enclave ${enclave} to the group: ${reason}`),
      ({ enclave }) => this.log.info({ enclave }, `enclave ${enclave} no longer declined`),
    );
    this.health = new NodeHealth({
      wallet: options.wallet,
      collateral: async () => (await this.groupStatus()).group.collateral,
      log: this.log,
    });
    const parts = assembleNode(options, this.log, this.metrics, this.counts, {
      keep: this.keep,
      waiters: this.waiters,
      stopped: () => this.stopped,
      address: () => this.address,
      onEnclaveExit: (reason) => {
        this.log.error({ reason }, "enclave process exited; restarting it");
        void this.recovery.recover();
      },
      onDiverged: (divergence) => this.onDiverged(divergence),
      onRotationDue: () => this.requestRotation(),
    });
    ({
      enclave: this.enclave,
      store: this.store,
      finality: this.finality,
      commands: this.commands,
      writer: this.writer,
      batches: this.batches,
      snapshots: this.snapshots,
      publisher: this.publisher,
      snapshotSync: this.snapshotSync,
      announcer: this.announcer,
      groupWrites: this.groupWrites,
      events: this.events,
      outputs: this.outputs,
    } = parts);
    this.recovery = new NodeRecovery({
      enclave: this.enclave,
      store: this.store,
      log: this.log,
      identity: { hostDir: options.hostDir, chainId: options.wallet.chain.id, contract: options.contract },
      signal: this.stopping.signal,
      pause: async () => {
        await this.ticker.stop();
        await this.follower?.stop();
        this.batches.reset();
        // The ticker waits until the chain is read again.
        this.synced = false;
      },
      restore: (enclave, sealed) => this.restore(enclave, sealed),
      resume: (cursor) => {
        if (this.divergence) return false; // restored diverged: it reads and writes nothing
        this.startFollower(cursor);
        this.ticker.start(TICK_MS);
        return true;
      },
    });
  }

  /**
   * The enclave found that its history or state is not the network's (a fork: its host fed it events
   * the network did not order, or its state differs). It stops applying, signing and answering; the
   * node stops reading the chain and writing to it, says so once, loudly, and answers 503 `diverged`
   * until its operator joins it afresh.
   */
  private onDiverged(divergence: Divergence): void {
    if (this.divergence) return;
    this.divergence = divergence;
    this.log.error(
      { event: divergence.seq, kind: divergence.kind, ours: divergence.ours, theirs: divergence.theirs },
      `enclave diverged from the network: ${divergence.reason}; it serves nothing more (start this node afresh from a new data directory)`,
    );
    void this.ticker.stop();
    void this.follower?.stop();
  }

  /** Why the enclave stopped, if it found its history or state is not the network's. */
  get diverged(): Divergence | undefined {
    return this.divergence;
  }

  /** The host's directory (sealed files, the enclave's data, the admin token). */
  get hostDir(): string {
    return this.options.hostDir;
  }

  get address(): Hex {
    if (!this.registration) throw new Error("the node has not started");
    return this.registration.address;
  }

  private keep: Keep = (result) => {
    this.store.keep(result);
    if (result.group) {
      // The joiner itself can only say not_member: each member says once whom it declines, and why.
      this.declined.update(new Map(result.group.declined.map((d) => [d.enclave, d])));
      this.group = result.group;
    }
  };

  async start(): Promise<void> {
    const { hostDir, wallet, contract } = this.options;
    this.registration = await initAndRegister({
      enclave: this.enclave,
      hostDir,
      wallet,
      contract,
      deployedAtBlock: this.options.deployedAtBlock,
      attestationUrl: this.options.attestationUrl,
    });
    const cursor = await this.restore(
      this.enclave,
      this.registration.created ? undefined : this.store.read(),
    );
    if (this.divergence) return; // restored diverged: it reads and writes nothing
    this.startFollower(cursor);
    if (this.options.rotateEveryMs) {
      this.rotationTimer = setInterval(() => this.requestRotation(), this.options.rotateEveryMs);
    }
    this.ticker.start(TICK_MS);
    this.health.start();
  }

  /**
   * Hands the enclave what the host kept sealed, or resyncs with one that kept its state (served in a
   * VM, src/host/enclave-resume.ts); where it resumes reading the chain.
   */
  private async restore(
    enclave: EnclaveCalls,
    sealed: SealedCopy | undefined,
  ): Promise<EventCursor | undefined> {
    const { view: restored, resumed } = await restoreOrResume(enclave, sealed, this.store);
    if (resumed) this.log.info({ cursor: restored.cursor }, "enclave kept its state: continuing with it");
    if (restored.diverged) this.onDiverged(restored.diverged);
    this.store.noteCursor(restored.cursor && BigInt(restored.cursor.block));
    this.group = restored.group;
    // Restarted while waiting for a snapshot: look for it again right away.
    if (restored.ledger.syncing) void this.snapshotSync.ensure(restored.ledger.syncing);
    return restored.cursor;
  }

  /** Follows the contract's events from after `cursor` (from the deployment without one). */
  private startFollower(cursor: EventCursor | undefined): void {
    const { wallet, contract } = this.options;
    this.events.resumeAt(cursor);
    this.follower = new EventFollower({
      publicClient: wallet.publicClient,
      contract,
      fromBlock: cursor ? BigInt(cursor.block) : this.options.deployedAtBlock,
      // The checkpoint's own block: a fork above it may roll back to this checkpoint again (anchored
      // one lower, a fork found while catching up reached below the oldest checkpoint kept).
      anchorBlock: cursor && BigInt(cursor.block),
      confirmations: this.options.confirmations ?? 0n,
      pollMs: FOLLOW_POLL_MS,
      onEvents: (events) => this.events.apply(events),
      onStatus: (status) => this.onFollowerStatus(status),
      onReorg: (ancestor) => {
        this.log.warn(
          { ancestor: ancestor?.toString() ?? "beyond the tracked blocks" },
          "chain reorganised; rolling back",
        );
        void this.recovery.recover(ancestor ?? -1n);
      },
    });
    this.follower.start();
  }

  /**
   * A node outside the group that has not yet read the chain up to its head cannot tell whether
   * batches were ordered (its enclave then refuses by itself): it answers nothing from its initial
   * state meanwhile. The same `syncing` refusal as its enclave's (what this says is public). A member
   * restarting replays from its own checkpoint, as before.
   */
  private refuseWhileCatchingUp(): void {
    if (!this.synced && !this.group?.member)
      throw new EnclaveCallError("syncing", "this node is reading the chain and is not a group member yet");
  }

  /** An outage is logged once while the follower retries, then when its error changes or it ends. */
  private onFollowerStatus(status: FollowerStatus): void {
    if (status.kind === "caught-up") {
      this.synced = true;
      this.followed = status.head;
      this.batches.observeHead(status.head);
      this.finality.observe(status.head);
      this.store.settle(status.head - REORG_WINDOW_BLOCKS);
    } else if (status.kind === "outage") this.syncFailures.failed(status.error);
    else this.syncFailures.succeeded();
  }

  /** The group's chain writes (group-writes.ts), once the node has read the chain and is not leaving. */
  private async tick(): Promise<void> {
    if (this.stopped || this.left || this.divergence || !this.synced || !this.group) return;
    // Its public URL, once: with the other writes, one at a time (they share the record nonce).
    if (await this.announcer?.announceDue()) return;
    if (await this.outputs.publishDue()) return;
    await this.groupWrites.tick(this.group);
  }

  /**
   * Whether this node has left or is leaving the group, or was removed from it (also after a
   * restart): it will batch nothing again, so it takes no new commands.
   */
  get hasLeft(): boolean {
    return this.left || this.group?.removed === true;
  }

  /** Leaves the network for good (leave.ts); no tick from here on, one could take the record nonce. */
  async leave(): Promise<LeaveResult> {
    this.left = true;
    await this.ticker.stop();
    try {
      return await sendLeave(this.enclave, this.options.wallet, this.options.contract, this.address);
    } catch (error) {
      this.left = false;
      if (!this.stopped) this.ticker.start(TICK_MS);
      throw error;
    }
  }

  /** Changes the most commands a batch may hold (benchmarks sweep it on a running network). */
  configureBatching(maxBatchCommands: number): void {
    this.batches.configure(maxBatchCommands);
  }

  /** Asks for a key rotation (an empty commit with a path update); it lands with a later tick. */
  requestRotation(): void {
    this.groupWrites.requestRotation();
  }

  /** Accepts a sealed command; with `waitMs`, answers once it is ordered (command-requests.ts). */
  submitCommand(envelope: Hex, waitMs = 0, until: WaitUntil = "ordered"): Promise<NodeCommandStatus> {
    this.refuseWhileCatchingUp();
    return this.commands.submit(envelope, waitMs, until);
  }

  /** A command's state; with `waitMs`, once it is ordered (or final, with `until`). */
  commandStatus(id: Hex, waitMs = 0, until: WaitUntil = "ordered"): Promise<NodeCommandStatus> {
    this.refuseWhileCatchingUp();
    return this.commands.status(id, waitMs, until);
  }

  /** Answers a signed, sealed query; the answer is sealed to the caller. */
  async query(envelope: Hex): Promise<{ answer: Hex }> {
    this.refuseWhileCatchingUp();
    return this.enclave.call("query", { envelope });
  }

  /** Answers a query the app declares public, in clear, signed by the enclave (calls/public-queries.ts). */
  async publicQuery(name: string, params: string): Promise<PublicQueryResult & { enclave: Hex }> {
    this.refuseWhileCatchingUp();
    return { ...(await this.enclave.call("publicQuery", { name, params })), enclave: this.address };
  }

  /** What the enclave says it runs: its measurement, release, platform and app. */
  enclaveStatus(): Promise<{ measurement: string; release: string; platform: string; app: AppSummary }> {
    return this.enclave.call("status");
  }

  /** The enclave's record on chain (registration.ts `publicRecord`). */
  onChainRecord() {
    return publicRecord(this.options.wallet, this.options.contract, this.address);
  }

  /** Whether the enclave process serves, or is being replaced after a crash or for a rollback. */
  get enclaveState(): EnclaveState {
    return this.enclave.state;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Its peers for a state snapshot: given, found on chain, and `no_peer` while it waits with none. */
  get peerState(): PeerState {
    return this.snapshotSync.peerState;
  }

  chainHead(): Promise<bigint> {
    return this.options.wallet.publicClient.getBlockNumber({ cacheTime: 0 });
  }

  /** The enclave's calls by name and its unexpected exits, since the node started. */
  enclaveCalls(): ReturnType<SupervisedEnclave["callTotals"]> {
    return this.enclave.callTotals();
  }

  /** The wei left on the account that pays this node's gas. */
  gasBalance(): Promise<bigint> {
    return this.health.gasBalance();
  }

  /** What its operator must act on before it bites: low gas, collateral due (node-health.ts). */
  warnings(): Promise<NodeWarning[]> {
    return this.health.warnings();
  }

  /** The chain head up to which the node has read every event (undefined before it first caught up). */
  get followedHead(): bigint | undefined {
    return this.followed;
  }

  /** Outages of each of the node's RPC endpoints so far, in the order given. */
  get rpcOutages(): readonly number[] {
    return this.options.wallet.rpcOutages;
  }

  get rotationPending(): boolean {
    return this.groupWrites.rotationPending;
  }

  async groupStatus(): Promise<GroupView> {
    return this.enclave.call("groupStatus");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.waiters.wakeAll();
    this.snapshotSync.stop();
    this.health.stop();
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    await this.ticker.stop();
    await this.follower?.stop();
    await this.enclave.stop();
    this.store.close();
  }
}
