import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  type Address,
  BaseError,
  type Chain,
  type DecodeEventLogReturnType,
  type Hex,
  type PublicClient,
  ResponseBodyTooLargeError,
  RpcError,
  RpcRequestError,
  type Transport,
} from "viem";
import { comesAfter } from "../protocol/log-position.js";
import { DEFAULT_PAGE_BLOCKS } from "./block-pages.js";
import { writeAtomic } from "./files.js";
import { anonifyAbi } from "./generated/contracts.js";

export type AnonifyEvent = DecodeEventLogReturnType<typeof anonifyAbi> & {
  blockNumber: bigint;
  logIndex: number;
  transactionHash: `0x${string}`;
};

/** The position of the last event handed to the consumer; the next one comes strictly after it. */
export type Cursor = { blockNumber: bigint; logIndex: number };

/**
 * Blocks whose hashes the follower remembers (each poll's head and each block it delivered events
 * of): how deep a reorganisation it can locate (a fork is found among them by bisection). Mainnet finalizes in two
 * epochs (64 blocks); a local chain restarted from an older state file may lose seconds of blocks.
 */
export const TRACKED_BLOCKS = 1_024;
export const DEFAULT_POLL_MS = 200;
const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 10_000;

/** A block the follower read up to, as it was then. */
type SeenBlock = { number: bigint; hash: Hex };

export type FollowerStatus =
  | { kind: "outage"; error: string; retryInMs: number; attempt: number }
  | { kind: "resumed"; afterMs: number }
  | { kind: "caught-up"; head: bigint };

export type FollowerOptions = {
  publicClient: PublicClient<Transport, Chain>;
  contract: Address;
  /** The contract's deployment block: where a follower with no cursor starts. */
  fromBlock: bigint;
  /**
   * The newest block the consumer's state already reflects, if any (a restored checkpoint's cursor
   * block; default: the block before `fromBlock`): a fork above it is located no lower than it.
   */
  anchorBlock?: bigint;
  /** Blocks an event must be buried under before it is delivered (reorg safety); 0 for local chains. */
  confirmations?: bigint;
  /**
   * Blocks per eth_getLogs call; large ranges are read page by page. A page the node refuses is
   * halved (providers cap the range or the results), down to one block.
   */
  pageBlocks?: bigint;
  pollMs?: number;
  /** Where the cursor is persisted (JSON, replaced atomically); without it the follower starts at fromBlock. */
  cursorPath?: string;
  /**
   * Called with the new events of each page read, in chain order (never empty); the cursor advances
   * past them only after it resolves. One call per page lets a consumer apply a block's events at once.
   */
  onEvents: (events: AnonifyEvent[]) => Promise<void> | void;
  onStatus?: (status: FollowerStatus) => void;
  /**
   * Called when blocks already read are no longer on the chain (a reorganisation), with the newest
   * block read that still is (undefined: deeper than the tracked blocks). The follower stops: what
   * it delivered after that block is void, and the consumer decides where to resume. Without it, the
   * follower itself resumes after that block and delivers the canonical events again.
   */
  onReorg?: (ancestor: bigint | undefined) => void;
};

export function readCursor(path: string): Cursor | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as { blockNumber: string; logIndex: number };
  return { blockNumber: BigInt(parsed.blockNumber), logIndex: parsed.logIndex };
}

function writeCursor(path: string, cursor: Cursor): void {
  writeAtomic(
    path,
    JSON.stringify({ blockNumber: cursor.blockNumber.toString(), logIndex: cursor.logIndex }),
  );
}

/**
 * Whether the node answered with a JSON-RPC error (as providers refuse a log range over their cap),
 * rather than not answering: an outage must not shrink the pages.
 */
function refusedByNode(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  // An answer too large to take (viem caps a response body) is the node answering too: a page of
  // many batches' ciphertexts can pass the cap, and half of it may not.
  const answered = (e: unknown) =>
    e instanceof RpcError || e instanceof RpcRequestError || e instanceof ResponseBodyTooLargeError;
  return answered(error.walk(answered));
}

/**
 * Follows the Anonify contract's events in chain order from a durable cursor: each event is handed
 * over exactly once across restarts (the cursor is written after the handler returns), ranges are
 * paged, and an unreachable node is retried with exponential backoff until it answers again.
 */
export class EventFollower {
  private cursor: Cursor | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly confirmations: bigint;
  private pageBlocks: bigint;
  private readonly pollMs: number;
  /** Blocks read up to, oldest first: the last one is checked on each poll, the rest locate a fork. */
  private seen: SeenBlock[] = [];

  constructor(private readonly options: FollowerOptions) {
    this.confirmations = options.confirmations ?? 0n;
    this.pageBlocks = options.pageBlocks ?? DEFAULT_PAGE_BLOCKS;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    if (options.cursorPath) {
      mkdirSync(dirname(options.cursorPath), { recursive: true });
      this.cursor = readCursor(options.cursorPath);
    }
  }

  get position(): Cursor | undefined {
    return this.cursor;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the event being handled, if any; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** The hash of block `number` now, given the chain's latest block (undefined: past the head). */
  private async hashOf(number: bigint, latest: { number: bigint; hash: Hex }): Promise<Hex | undefined> {
    if (number > latest.number) return undefined;
    if (number === latest.number) return latest.hash;
    return (await this.options.publicClient.getBlock({ blockNumber: number })).hash;
  }

  /**
   * Whether the chain still holds the last block read; if not, the newest tracked block it still
   * holds (undefined when none is), which is where the canonical chain and what was read agree.
   */
  private async forkPoint(latest: {
    number: bigint;
    hash: Hex;
  }): Promise<{ ancestor: bigint | undefined } | undefined> {
    const last = this.seen.at(-1);
    if (!last || (await this.hashOf(last.number, latest)) === last.hash) return undefined;
    // The tracked blocks the chain still holds are a prefix of them: the last one, by bisection.
    const holds = async (i: number) =>
      (await this.hashOf(this.seen[i]!.number, latest)) === this.seen[i]!.hash;
    let [low, high] = [-1, this.seen.length - 1]; // seen[low] held (or none), seen[high] did not
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (await holds(middle)) low = middle;
      else high = middle;
    }
    return { ancestor: low < 0 ? undefined : this.seen[low]!.number };
  }

  /** Reads and delivers everything confirmed up to the current head; returns that head. */
  async syncOnce(): Promise<bigint> {
    // The latest block rather than its number alone: its hash checks the last block read for free
    // while no new block came.
    const latest = await this.options.publicClient.getBlock({ blockTag: "latest" });
    const head = latest.number;
    const fork = await this.forkPoint(latest);
    if (fork) {
      this.seen = [];
      if (this.options.onReorg) {
        this.running = false;
        this.options.onReorg(fork.ancestor);
        return head;
      }
      const ancestor = fork.ancestor ?? this.options.fromBlock;
      this.cursor = { blockNumber: ancestor, logIndex: Number.MAX_SAFE_INTEGER };
    }
    const safeHead = head - this.confirmations;
    // The block before the first one read anchors what this follower knows: a reorganisation
    // reaching back past everything it read since is still located.
    const start = this.cursor
      ? this.cursor.blockNumber
      : (this.options.anchorBlock ?? this.options.fromBlock - 1n);
    if (this.seen.length === 0 && start >= 0n && start <= safeHead) {
      const hash = await this.hashOf(start, latest);
      if (hash) this.seen.push({ number: start, hash });
    }
    // Taken before the logs are read: if the chain changes meanwhile, the next poll sees this hash gone.
    const reading = this.seen.at(-1)?.number === safeHead ? undefined : await this.hashOf(safeHead, latest);
    // The blocks whose events were delivered, as the logs named them: a fork is then located at the
    // block of the last event it voids, not at the previous poll's head (a poll that catches up may
    // read thousands of blocks, and rolling back past all of them costs a checkpoint that old).
    const delivered: SeenBlock[] = [];
    let complete = false;
    try {
      await this.readUpTo(safeHead, delivered);
      complete = this.running && (this.cursor?.blockNumber ?? -1n) >= safeHead;
    } finally {
      // The pages may come from either side of a fork that happened while they were read: their
      // blocks are tracked only if the head read before them is still the chain's; else (or when
      // reading failed half way) the head alone, which is gone if the chain changed since it was
      // read, so the next poll locates the fork among what earlier polls tracked.
      if (reading && (complete || delivered.length > 0)) {
        const checked = complete && delivered.length > 0 && (await this.stillHolds(safeHead, reading));
        this.track([
          ...(checked ? delivered.filter((b) => b.number < safeHead) : []),
          { number: safeHead, hash: reading },
        ]);
      }
    }
    return head;
  }

  /** Whether block `number` still has `hash` (not when the chain cannot say, as in a reorganisation). */
  private async stillHolds(number: bigint, hash: Hex): Promise<boolean> {
    try {
      return (await this.options.publicClient.getBlock({ blockNumber: number })).hash === hash;
    } catch {
      return false;
    }
  }

  /** Notes blocks read, after those already noted (kept ascending: the bisection needs it). */
  private track(blocks: SeenBlock[]): void {
    for (const block of blocks) if (block.number > (this.seen.at(-1)?.number ?? -1n)) this.seen.push(block);
    if (this.seen.length > TRACKED_BLOCKS) this.seen.splice(0, this.seen.length - TRACKED_BLOCKS);
  }

  /** Delivers the events after the cursor up to `safeHead`, page by page; notes their blocks in `delivered`. */
  private async readUpTo(safeHead: bigint, delivered: SeenBlock[]): Promise<void> {
    // Every block up to the cursor's was read whole (pages hold whole blocks): start after it.
    let from = this.cursor ? this.cursor.blockNumber + 1n : this.options.fromBlock;
    while (from <= safeHead && this.running) {
      const to = from + this.pageBlocks - 1n < safeHead ? from + this.pageBlocks - 1n : safeHead;
      const logs = await this.options.publicClient
        .getContractEvents({
          address: this.options.contract,
          abi: anonifyAbi,
          fromBlock: from,
          toBlock: to,
          strict: true,
        })
        .catch((error: unknown) => {
          if (to === from || !refusedByNode(error)) throw error;
          return undefined;
        });
      if (!logs) {
        this.pageBlocks = (to - from + 1n) / 2n;
        continue;
      }
      logs.sort((a, b) =>
        a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
      );
      const fresh = logs.filter((log) =>
        comesAfter(
          log.blockNumber,
          log.logIndex,
          this.cursor && { block: this.cursor.blockNumber, logIndex: this.cursor.logIndex },
        ),
      );
      const last = fresh.at(-1);
      if (last && this.running) {
        await this.options.onEvents(
          fresh.map(
            (log) =>
              ({
                eventName: log.eventName,
                args: log.args,
                blockNumber: log.blockNumber,
                logIndex: log.logIndex,
                transactionHash: log.transactionHash,
              }) as AnonifyEvent,
          ),
        );
        this.cursor = { blockNumber: last.blockNumber, logIndex: last.logIndex };
        if (this.options.cursorPath) writeCursor(this.options.cursorPath, this.cursor);
        for (const log of fresh)
          if (delivered.at(-1)?.number !== log.blockNumber)
            delivered.push({ number: log.blockNumber, hash: log.blockHash });
      }
      if (!this.running) break;
      // A page with no events still advances the cursor, so a restart does not read it again.
      if (!this.cursor || this.cursor.blockNumber < to) {
        this.cursor = { blockNumber: to, logIndex: Number.MAX_SAFE_INTEGER };
        if (this.options.cursorPath) writeCursor(this.options.cursorPath, this.cursor);
      }
      from = to + 1n;
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let outageStarted = 0;
    while (this.running) {
      let delay = this.pollMs;
      try {
        const head = await this.syncOnce();
        if (attempt > 0) this.options.onStatus?.({ kind: "resumed", afterMs: Date.now() - outageStarted });
        attempt = 0;
        this.options.onStatus?.({ kind: "caught-up", head });
      } catch (error) {
        if (attempt === 0) outageStarted = Date.now();
        attempt += 1;
        delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (attempt - 1));
        const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
        this.options.onStatus?.({ kind: "outage", error: message, retryInMs: delay, attempt });
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
