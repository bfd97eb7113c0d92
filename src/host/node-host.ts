// A node's host around its enclave: registration, key package, the ordered event feed, and the
// group's handshakes. The host holds no secret: it stores sealed blobs and pays gas.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Address, BaseError, ContractFunctionRevertedError, type Hex, toFunctionSelector } from "viem";
import type { EventPosition, LedgerEvent } from "../boundary/chain-events.js";
import type { LedgerWallet } from "../chain/chain.js";
import { writeAtomic } from "../chain/files.js";
import { EventFollower } from "../chain/follower.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import type { ledgerSummary } from "../enclave/confidential-ledger.js";
import type { JournalEntry } from "../enclave/enclave.js";
import type { groupSummary } from "../enclave/group-member.js";
import { DEFAULT_BATCH_COMMANDS } from "../protocol/batch.js";
import { type BlockClock, batchesInFlightAllowed, observeHead } from "./batch-policy.js";
import { EnclaveProcess } from "./enclave-process.js";
import { toLedgerEvent } from "./event-feed.js";
import { StageMetrics } from "./metrics.js";
import { type EnclaveRegistration, initAndRegister, onChainState } from "./registration.js";

export const SEALED_STATE_FILE = "sealed-state.hex";
/** Sealed journal records, one hex line each. */
export const SEALED_JOURNAL_FILE = "sealed-journal.hex";
/** How often the host asks its enclave for a handshake or a batch to send. */
const TICK_MS = 25;
/** How often the host polls the chain for new events. */
const FOLLOW_POLL_MS = 50;
/** The contract's custom errors by selector. */
const CONTRACT_ERRORS = new Map(
  anonifyAbi.flatMap((item) =>
    item.type === "error"
      ? [
          [
            toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`),
            item.name,
          ] as const,
        ]
      : [],
  ),
);
/** Ledger events per applyEvents call, and their payload bytes: well inside the boundary's frame limit. */
const EVENTS_PER_CALL = 64;
const EVENT_BYTES_PER_CALL = 4 * 1024 * 1024;
const DEFAULT_MAX_BATCHES_IN_FLIGHT = 6;
/**
 * Gas for a batch sent behind others (it cannot be simulated before they land): above the EIP-7623
 * calldata floor (40 gas per non-zero byte, and ciphertext is random) plus the call's own work.
 */
const SUBMIT_BATCH_BASE_GAS = 100_000n;
const SUBMIT_BATCH_GAS_PER_BYTE = 64n;

/** What the enclave reports of its group and ledger (the host holds these as plain JSON). */
export type GroupSummary = ReturnType<typeof groupSummary>;

export type EnclaveNodeOptions = {
  hostDir: string;
  wallet: LedgerWallet;
  contract: Address;
  deployedAtBlock: bigint;
  attestationUrl: string;
  bundle?: string;
  confirmations?: bigint;
  /** Rotation policy: ask for a key rotation this often (ms); off when omitted. */
  rotateEveryMs?: number;
  /** Rotation policy: ask for a key rotation after this many of this node's batches; off when omitted. */
  rotateEveryBatches?: number;
  /** At most this many commands per batch. */
  maxBatchCommands?: number;
  /** At most this many of this node's batches sent and not yet ordered (1 sends one at a time). */
  maxBatchesInFlight?: number;
  onLog?: (line: string) => void;
};

export type LedgerSummary = ReturnType<typeof ledgerSummary>;

/** `settled`: the commands accepted here that an apply ordered, answered as `commandStatus` would ("unknown" if the enclave holds nothing of one). */
type Applied = {
  cursor: EventPosition | undefined;
  group: GroupSummary;
  settled: (CommandStatusAnswer | { id: Hex; status: "unknown" })[];
  sealedState?: Hex;
};

/** A command's state as the enclave reports it; the receipt is sealed to the sender. */
export type CommandStatusAnswer = {
  id: Hex;
  status: "queued" | "submitted" | "applied" | "failed";
  sequence?: string;
  receipt?: Hex;
};

/** Whether the command is ordered: its receipt says applied or failed. */
export const isSettled = (status: string): boolean => status === "applied" || status === "failed";

/** The longest a status request may wait for its command to be ordered. */
export const MAX_STATUS_WAIT_MS = 30_000;

/** Ledger events split into applyEvents calls of bounded count and size, in order. */
function inCalls(events: LedgerEvent[]): LedgerEvent[][] {
  const calls: LedgerEvent[][] = [];
  let bytes = 0;
  for (const event of events) {
    // The hex payloads are what make an event large; counting them costs no copy.
    const size = Object.values(event).reduce<number>((n, v) => n + (typeof v === "string" ? v.length : 0), 0);
    const last = calls.at(-1);
    if (last && last.length < EVENTS_PER_CALL && bytes + size <= EVENT_BYTES_PER_CALL) {
      last.push(event);
      bytes += size;
    } else {
      calls.push([event]);
      bytes = size;
    }
  }
  return calls;
}

/** The lines a file holds whole: a record torn by a crash (no newline after it) is not one. */
function completeLines(text: string): string[] {
  const lines = text.split("\n");
  lines.pop();
  return lines.filter((line) => line.length > 0);
}

export class EnclaveNode {
  readonly enclave: EnclaveProcess;
  readonly metrics = new StageMetrics();
  registration: EnclaveRegistration | undefined;
  group: GroupSummary | undefined;
  private follower: EventFollower | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private tickRunning = false;
  private timer: NodeJS.Timeout | undefined;
  private rotationTimer: NodeJS.Timeout | undefined;
  private rotateRequested = false;
  private batchesSent = 0;
  /** Batches broadcast and not known to have failed, by enclave signature, in the order sent. */
  private readonly sentBatches = new Map<Hex, Hex>();
  /** The ciphertexts of the enclave's batches in flight, by enclave signature. */
  private batchCiphertexts = new Map<Hex, Hex>();
  private lastBatchOpenedAt = 0;
  /** Batches the enclave had in flight at the last call. */
  private inFlightAtEnclave = 0;
  /** When the chain head advanced, as the follower saw it: the block time, if there is one. */
  private blockClock: BlockClock | undefined;
  /** Commands the enclave had queued at the last call: a full batch need not linger. */
  private queuedAtEnclave = 0;
  private readonly maxBatchesInFlight: number;
  private maxBatchCommands: number;
  /** The slot at which this node sent its key package: a new handshake means it was consumed or lost. */
  private keyPackageSentAt: string | undefined;
  private stopped = false;
  private synced = false;
  private journalSnapshotSeq = 0;
  private journalSinceSnapshot: JournalEntry[] = [];
  private journalFd: number | undefined;
  /** Status requests waiting for their command to be ordered, by command id. */
  private readonly waiters = new Map<Hex, Set<(answer?: CommandStatusAnswer) => void>>();

  constructor(private readonly options: EnclaveNodeOptions) {
    this.maxBatchCommands = options.maxBatchCommands ?? DEFAULT_BATCH_COMMANDS;
    this.maxBatchesInFlight = options.maxBatchesInFlight ?? DEFAULT_MAX_BATCHES_IN_FLIGHT;
    this.enclave = EnclaveProcess.start({
      dataDir: join(options.hostDir, "enclave"),
      bundle: options.bundle,
      onLog: options.onLog,
    });
  }

  get address(): Hex {
    if (!this.registration) throw new Error("the node has not started");
    return this.registration.address;
  }

  private keep(result: { sealedState?: Hex; journal?: JournalEntry; group?: GroupSummary }): void {
    if (result.sealedState) writeAtomic(join(this.options.hostDir, SEALED_STATE_FILE), result.sealedState);
    if (result.journal) this.keepJournal(result.journal);
    if (result.group) this.group = result.group;
  }

  /**
   * The journal file: the latest snapshot, then the records after it, one sealed record per line.
   * Answers may reach here out of order, so the record numbers decide what a snapshot replaces.
   */
  private keepJournal(entry: JournalEntry): void {
    const path = join(this.options.hostDir, SEALED_JOURNAL_FILE);
    if (entry.seq <= this.journalSnapshotSeq) return; // already inside a newer snapshot
    if (entry.kind !== "snapshot") {
      this.journalSinceSnapshot.push(entry);
      // One open file for the appends (a record per accepted command or batch), reopened after each rewrite.
      this.journalFd ??= openSync(path, "a", 0o600);
      writeSync(this.journalFd, `${entry.sealed}\n`);
      return;
    }
    this.journalSnapshotSeq = entry.seq;
    this.journalSinceSnapshot = this.journalSinceSnapshot.filter((e) => e.seq > entry.seq);
    this.closeJournal();
    writeAtomic(path, [entry, ...this.journalSinceSnapshot].map((e) => `${e.sealed}\n`).join(""));
  }

  private closeJournal(): void {
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  async start(): Promise<void> {
    const { hostDir, wallet, contract } = this.options;
    this.registration = await initAndRegister({
      enclave: this.enclave,
      hostDir,
      wallet,
      contract,
      attestationUrl: this.options.attestationUrl,
    });
    const statePath = join(hostDir, SEALED_STATE_FILE);
    const journalPath = join(hostDir, SEALED_JOURNAL_FILE);
    let cursor: EventPosition | undefined;
    if (existsSync(statePath) && !this.registration.created) {
      const restored = await this.enclave.call<{ cursor?: EventPosition; group: GroupSummary }>(
        "restoreState",
        {
          sealedState: readFileSync(statePath, "utf8").trim(),
          sealedJournal: existsSync(journalPath) ? completeLines(readFileSync(journalPath, "utf8")) : [],
        },
      );
      cursor = restored.cursor;
      this.group = restored.group;
    }
    this.follower = new EventFollower({
      publicClient: wallet.publicClient,
      contract,
      fromBlock: cursor ? BigInt(cursor.block) : this.options.deployedAtBlock,
      confirmations: this.options.confirmations ?? 0n,
      pollMs: FOLLOW_POLL_MS,
      // A page's events in one call: the enclave applies a block's batches back to back, not
      // interleaved with the commands and receipts its clients ask for meanwhile.
      onEvents: async (events) => {
        for (const chunk of inCalls(events.flatMap((e) => toLedgerEvent(e) ?? []))) {
          const apply = () => this.enclave.call<Applied>("applyEvents", { events: chunk });
          const applied = chunk.some((e) => e.kind === "BatchSubmitted")
            ? await this.metrics.time("apply", apply)
            : await apply();
          this.keep(applied);
          for (const answer of applied.settled)
            for (const wake of this.waiters.get(answer.id) ?? [])
              wake(answer.status === "unknown" ? undefined : answer);
        }
      },
      onStatus: (status) => {
        if (status.kind === "caught-up") {
          this.synced = true;
          this.blockClock = observeHead(this.blockClock, status.head, Date.now());
        }
        if (status.kind === "outage")
          this.options.onLog?.(`chain unreachable: ${status.error}; retry in ${status.retryInMs} ms`);
      },
    });
    this.follower.start();
    if (this.options.rotateEveryMs) {
      this.rotationTimer = setInterval(() => this.requestRotation(), this.options.rotateEveryMs);
    }
    this.timer = setInterval(() => {
      // One tick at a time: a slow one (a chain round trip) is not followed by a backlog of them.
      if (this.tickRunning) return;
      this.tickRunning = true;
      this.ticking = this.tick()
        .catch((e) => this.options.onLog?.(`tick failed: ${e}`))
        .finally(() => {
          this.tickRunning = false;
        });
    }, TICK_MS);
  }

  /** Publishes the key package once, then proposes whatever commit the group needs. */
  private async tick(): Promise<void> {
    if (this.stopped || !this.synced || !this.group) return;
    if (!this.group.keyPackagePublished) {
      // Published but not yet seen in the event feed: wait for it rather than publish again.
      if (this.keyPackageSentAt !== undefined && this.group.slot === this.keyPackageSentAt) return;
      const kp = await this.enclave.call<{ keyPackage: Hex; signature: Hex; sealedState: Hex }>("keyPackage");
      this.keep(kp);
      if (await this.send("publishKeyPackage", [kp.keyPackage, kp.signature]))
        this.keyPackageSentAt = this.group.slot;
      return;
    }
    const rotate = this.rotateRequested;
    const proposal = await this.enclave.call<{
      handshake: Hex | null;
      epoch?: string;
      signature?: Hex;
      sealedState?: Hex;
      group: GroupSummary;
    }>("proposeHandshake", { rotate });
    this.keep(proposal);
    if (!proposal.handshake) return this.submitBatch();
    const ok = await this.send("commitHandshake", [
      BigInt(proposal.epoch!),
      proposal.handshake,
      proposal.signature!,
    ]);
    if (ok && rotate) this.rotateRequested = false;
  }

  /**
   * Submits the enclave's batches in order, several in flight (when a new one opens:
   * `batchesInFlightAllowed`), so under slow blocks commands need not wait for the previous batch
   * to land before they are sent.
   */
  private async submitBatch(): Promise<void> {
    const maxInFlight = batchesInFlightAllowed({
      now: Date.now(),
      lastOpenedAt: this.lastBatchOpenedAt,
      inFlight: this.inFlightAtEnclave,
      queued: this.queuedAtEnclave,
      maxCommands: this.maxBatchCommands,
      maxInFlight: this.maxBatchesInFlight,
      clock: this.blockClock,
    });
    const sealed = await this.metrics.time("batching", () =>
      this.enclave.call<{
        batches: {
          epoch: string;
          nonce: string;
          /** Left out when the host named the batch as known. */
          ciphertext?: Hex;
          count: number;
          enclave: Hex;
          signature: Hex;
        }[];
        queued: number;
        journal?: JournalEntry;
      }>("sealBatch", {
        maxCommands: this.maxBatchCommands,
        maxInFlight: Math.max(1, maxInFlight),
        // Offered on every tick until they land: their ciphertexts (up to 16 KiB each) cross once.
        known: [...this.batchCiphertexts.keys()],
      }),
    );
    this.keep(sealed);
    this.queuedAtEnclave = sealed.queued;
    this.inFlightAtEnclave = sealed.batches.length;
    const ciphertexts = new Map<Hex, Hex>();
    for (const b of sealed.batches) {
      const ciphertext = b.ciphertext ?? this.batchCiphertexts.get(b.signature);
      if (!ciphertext)
        throw new Error(`the enclave left out batch ${b.nonce}, which this host does not hold`);
      ciphertexts.set(b.signature, ciphertext);
    }
    this.batchCiphertexts = ciphertexts;
    for (const signature of this.sentBatches.keys())
      if (!ciphertexts.has(signature)) this.sentBatches.delete(signature);
    for (const [position, batch] of sealed.batches.entries()) {
      // A batch already sent is offered again until its event is applied: do not send it twice.
      if (this.sentBatches.has(batch.signature)) continue;
      const ciphertext = ciphertexts.get(batch.signature)!;
      const args = [BigInt(batch.epoch), ciphertext, batch.count, batch.enclave, batch.signature];
      // Only the oldest can be simulated: the others' batch nonces are valid once those before them land.
      const gas =
        position === 0
          ? undefined
          : SUBMIT_BATCH_BASE_GAS + SUBMIT_BATCH_GAS_PER_BYTE * BigInt(ciphertext.length / 2);
      const hash = await this.broadcast("submitBatch", args, gas);
      if (!hash) return; // those behind it would fail; the next tick sends them in order again
      this.sentBatches.set(batch.signature, hash);
      this.lastBatchOpenedAt = Date.now();
      this.batchesSent++;
      const every = this.options.rotateEveryBatches;
      if (every && this.batchesSent % every === 0) this.requestRotation();
      void this.metrics
        .time("chain-inclusion", () => this.options.wallet.publicClient.waitForTransactionReceipt({ hash }))
        .then(
          (receipt) => receipt.status === "success" || "reverted",
          (error: Error) => `receipt not read: ${error.message.split("\n")[0]}`,
        )
        .then((outcome) => {
          if (outcome === true) return;
          this.options.onLog?.(`batch ${batch.nonce} not ordered (${outcome}); it is sent again`);
          // It and every batch sent after it go again (behind a failed one they fail too).
          let after = false;
          for (const signature of [...this.sentBatches.keys()]) {
            after ||= signature === batch.signature;
            if (after) this.sentBatches.delete(signature);
          }
        });
    }
  }

  /** Sends a contract call and waits for it; a revert the protocol expects (a lost epoch race) is reported, not thrown. */
  private async send(
    functionName: "publishKeyPackage" | "commitHandshake",
    args: readonly unknown[],
  ): Promise<boolean> {
    const hash = await this.broadcast(functionName, args);
    if (!hash) return false;
    const receipt = await this.options.wallet.publicClient.waitForTransactionReceipt({ hash });
    return receipt.status === "success";
  }

  /**
   * Signs and sends a contract call: simulated first (so an expected revert costs no gas), unless a
   * gas limit is given because it cannot be simulated yet. Undefined when it was not sent.
   */
  private async broadcast(
    functionName: "publishKeyPackage" | "commitHandshake" | "submitBatch",
    args: readonly unknown[],
    gas?: bigint,
  ): Promise<Hex | undefined> {
    const { wallet, contract } = this.options;
    const call = { account: wallet.account, address: contract, abi: anonifyAbi, functionName, args } as never;
    try {
      if (gas !== undefined)
        return await wallet.walletClient.writeContract({ ...(call as object), gas } as never);
      const { request } = await wallet.publicClient.simulateContract(call);
      return await wallet.walletClient.writeContract(request as never);
    } catch (error) {
      const revert =
        error instanceof BaseError
          ? error.walk((e) => e instanceof ContractFunctionRevertedError)
          : undefined;
      // Some nodes return a custom error's selector without its arguments; viem then cannot decode
      // it, so the selector names it.
      const name =
        revert instanceof ContractFunctionRevertedError
          ? (revert.data?.errorName ?? (revert.signature && CONTRACT_ERRORS.get(revert.signature)))
          : undefined;
      // Losing an epoch race is the protocol working: the winner's commit arrives with the events.
      if (name !== "StaleEpoch") {
        this.options.onLog?.(
          `${functionName} not accepted: ${name ?? (error as Error).message.split("\n")[0]}`,
        );
      }
      return undefined;
    }
  }

  /** Changes the most commands a batch may hold (benchmarks sweep it on a running network). */
  configureBatching(maxBatchCommands: number): void {
    this.maxBatchCommands = maxBatchCommands;
  }

  /** Asks for a key rotation (an empty commit with a path update); it lands with a later tick. */
  requestRotation(): void {
    this.rotateRequested = true;
  }

  /**
   * Accepts a sealed command. With `waitMs`, answers once the command is ordered (or when the wait
   * ends), as `commandStatus` would, so a client needs one request, not two.
   */
  async submitCommand(envelope: Hex, waitMs = 0): Promise<CommandStatusAnswer> {
    const result = await this.metrics.time("open-and-check", () =>
      this.enclave.call<{ id: Hex; journal: JournalEntry }>("submitCommand", { envelope }),
    );
    this.keep(result); // the accepted command is in the sealed state before the client hears 202
    const id = result.id.toLowerCase() as Hex;
    if (waitMs <= 0 || this.stopped) return { id, status: "queued" };
    // Registered before anything else runs here: its batch cannot be applied before this line.
    return (await this.settled(id, waitMs).done) ?? this.enclaveStatus(id);
  }

  /**
   * A command's state; with `waitMs`, a queued or submitted command is answered once it is ordered
   * (or when the wait ends), so clients need not poll.
   */
  async commandStatus(id: Hex, waitMs = 0): Promise<CommandStatusAnswer> {
    const key = id.toLowerCase() as Hex;
    if (waitMs <= 0 || this.stopped) return this.enclaveStatus(key);
    // Waiting before asking, so a settlement between the answer and the wait is not missed.
    const settled = this.settled(key, waitMs);
    let now: CommandStatusAnswer;
    try {
      now = await this.enclaveStatus(key);
    } catch (error) {
      settled.cancel();
      throw error;
    }
    if (!isSettled(now.status)) return (await settled.done) ?? this.enclaveStatus(key);
    settled.cancel();
    return now;
  }

  private enclaveStatus(id: Hex): Promise<CommandStatusAnswer> {
    return this.enclave.call<CommandStatusAnswer>("commandStatus", { id });
  }

  /**
   * Resolves with the enclave's answer when it reports command `id` ordered, or with nothing after
   * `waitMs` (or on `cancel`).
   */
  private settled(
    id: Hex,
    waitMs: number,
  ): { done: Promise<CommandStatusAnswer | undefined>; cancel: () => void } {
    const waiting = this.waiters.get(id) ?? new Set();
    this.waiters.set(id, waiting);
    let wake: (answer?: CommandStatusAnswer) => void = () => {};
    const done = new Promise<CommandStatusAnswer | undefined>((resolve) => {
      const timer = setTimeout(() => wake(), Math.min(waitMs, MAX_STATUS_WAIT_MS));
      wake = (answer) => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
        resolve(answer);
      };
    });
    waiting.add(wake);
    return { done, cancel: () => wake() };
  }

  async onChainRecord() {
    const record = await onChainState(this.options.wallet, this.options.contract, this.address);
    return {
      state: record.stateName,
      platform: record.platform,
      debug: record.debug,
      measurement: record.measurement,
      hpkePublicKey: record.hpkePublicKey,
      registeredAt: record.registeredAt.toString(),
    };
  }

  get isSynced(): boolean {
    return this.synced;
  }

  chainHead(): Promise<bigint> {
    return this.options.wallet.publicClient.getBlockNumber({ cacheTime: 0 });
  }

  get rotationPending(): boolean {
    return this.rotateRequested;
  }

  async groupStatus(): Promise<{ cursor?: EventPosition; group: GroupSummary; ledger: LedgerSummary }> {
    return this.enclave.call("groupStatus");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiting of [...this.waiters.values()]) for (const wake of [...waiting]) wake();
    if (this.timer) clearInterval(this.timer);
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    await this.ticking;
    await this.follower?.stop();
    await this.enclave.stop();
    this.closeJournal();
  }
}
