// The joining side of state snapshots, in a joiner's host: while its enclave waits for the snapshot
// of the slot it joined at, the host reads that slot's `SnapshotCommitted` logs from the chain,
// fetches the bytes whose hash was committed from its peers (other nodes' APIs, tried in turn; bytes
// that do not hash to the commitment are dropped), and hands them to its enclave, which checks and
// opens them itself (`installSnapshot`). Its peers are its `--peer` URLs and those announced on chain
// by active enclaves (peer-discovery.ts), read again as it keeps looking. The host trusts no peer: a
// wrong or tampered snapshot costs a retry, never the enclave's state.
import type { Address, Hex } from "viem";
import type { LedgerSummary } from "../../boundary/call-results.js";
import { SNAPSHOT_CHUNK_BYTES } from "../../boundary/calls.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { blockPages } from "../../chain/block-pages.js";
import type { LedgerWallet } from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import { MAX_SNAPSHOT_BYTES } from "../../protocol/snapshot.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { FailureLog, firstLine, type Logger } from "../log.js";
import { type SnapshotStore, snapshotHashOf } from "./snapshot-store.js";

/** How often the chain is asked for a commitment, and peers for bytes, while none could be installed. */
const POLL_MS = 200;
/** The longest a peer may take to serve a snapshot. */
const FETCH_TIMEOUT_MS = 120_000;
/** How often a joiner with no peer to fetch from says again that it waits for one. */
const NO_PEER_WARNING_MS = 60_000;
/** How often the chain is read again for peers announced there while the snapshot is not installed. */
const PEER_LOOKUP_MS = 2_000;
/** What an operator must do when the node has no peer: it cannot answer until it gets a snapshot. */
const NO_PEER_FIX =
  "syncing: this node joined after commands were applied and needs another node's state snapshot, " +
  "but has no peer to fetch it from: none was given with --peer and none is announced on chain " +
  "(a node started with --public-url announces itself); it keeps looking on chain and answers nothing " +
  "until then, or start it again with --peer URL (another node's API)";

/** Where a joiner stands with its peers: how many it was given and found on chain, and why it waits. */
export type PeerState = { peers: number; announced: number; reason: "no_peer" | null };

export type Syncing = NonNullable<LedgerSummary["syncing"]>;

/** A `SnapshotCommitted` event as the enclave takes it with the bytes (and the hash to fetch them by). */
type Commitment = { hash: Hex; enclave: Hex; nonce: string; stateDigest: Hex; signature: Hex };

export type SnapshotSyncOptions = {
  enclave: EnclaveCalls;
  store: SnapshotStore;
  wallet: LedgerWallet;
  contract: Address;
  /** Base URLs of other nodes' APIs. */
  peers: readonly string[];
  /** Peers announced on chain (peer-discovery.ts), asked beside `peers`. */
  discovery?: { announced(): Promise<string[]> };
  log: Logger;
  fetch?: typeof globalThis.fetch;
};

/** Reads a response body of at most `max` bytes, or undefined if it is larger. */
async function bodyUpTo(res: Response, max: number): Promise<Buffer | undefined> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) return undefined;
  const parts: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const part of res.body as AsyncIterable<Uint8Array>) {
    size += part.length;
    if (size > max) return undefined;
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}

export class SnapshotSync {
  private running: { slot: string; done: Promise<void> } | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The peers asked last: the `--peer` URLs, then those announced on chain that are not among them. */
  private peers: readonly string[];
  private announcedCount = 0;
  private noPeer = false;
  private lookedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SnapshotSyncOptions) {
    this.peers = options.peers;
  }

  /** Its peers as last looked for, and `no_peer` while it waits for a snapshot with none. */
  get peerState(): PeerState {
    return {
      peers: this.options.peers.length,
      announced: this.announcedCount,
      reason: this.running && this.noPeer ? "no_peer" : null,
    };
  }

  /** Reads the peers announced on chain again, at most every PEER_LOOKUP_MS. */
  private async lookForPeers(failures: FailureLog): Promise<void> {
    const { discovery, peers } = this.options;
    if (!discovery || Date.now() - this.lookedAt < PEER_LOOKUP_MS) return;
    this.lookedAt = Date.now();
    try {
      const given = new Set(peers.map((peer) => new URL(peer).href));
      const announced = (await discovery.announced()).filter((url) => !given.has(url));
      if (announced.length > this.announcedCount)
        this.options.log.info({ announced: announced.length }, "peers found announced on chain");
      this.announcedCount = announced.length;
      this.peers = [...peers, ...announced];
      failures.succeeded();
    } catch (error) {
      failures.failed(error);
    }
  }

  /** Syncs to the snapshot of `syncing.slot` (once, however often asked); resolves once installed or stopped. */
  ensure(syncing: Syncing): Promise<void> {
    if (this.running?.slot === syncing.slot) return this.running.done;
    const done = this.run(syncing).finally(() => {
      if (this.running?.done === done) this.running = undefined;
    });
    this.running = { slot: syncing.slot, done };
    return done;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(syncing: Syncing): Promise<void> {
    const { log } = this.options;
    const slot = BigInt(syncing.slot);
    log.info(
      { slot: syncing.slot, sequence: syncing.sequence, peers: this.options.peers.length },
      "syncing: waiting for the state snapshot of the slot this node joined at",
    );
    const chainFailures = new FailureLog(log, "reading snapshot commitments");
    const lookupFailures = new FailureLog(log, "reading peers announced on chain");
    const installFailures = new FailureLog(log, "installing the snapshot");
    const peerFailures = new Map<string, FailureLog>();
    const commitments: Commitment[] = [];
    const refused = new Set<Commitment>();
    let scanned = BigInt(syncing.block) - 1n;
    let warnedAt: number | undefined;
    while (!this.stopped) {
      await this.lookForPeers(lookupFailures);
      this.noPeer = this.peers.length === 0;
      // Loud, and again each minute: a node waiting for a snapshot no one can give it serves nothing.
      const warningDue = this.noPeer && Date.now() - (warnedAt ?? 0) >= NO_PEER_WARNING_MS;
      if (warningDue && commitments.every((c) => !this.options.store.read(c.hash, { verified: true }))) {
        log.warn({ slot: syncing.slot, commitments: commitments.length }, NO_PEER_FIX);
        warnedAt = Date.now();
      }
      try {
        scanned = await this.scan(slot, BigInt(syncing.at), scanned, commitments);
        chainFailures.succeeded();
      } catch (error) {
        chainFailures.failed(error);
      }
      for (const commitment of commitments.filter((c) => !refused.has(c))) {
        const { hash } = commitment;
        if (this.stopped) return;
        const local = this.options.store.read(hash, { verified: true });
        const fetched = local
          ? { bytes: local, from: "local store" }
          : await this.fetchFromPeers(hash, peerFailures);
        if (!fetched) continue;
        log.info({ hash, bytes: fetched.bytes.length, from: fetched.from }, "state snapshot fetched");
        try {
          await this.install(fetched.bytes, commitment);
          installFailures.succeeded();
        } catch (error) {
          if (!(error instanceof EnclaveCallError)) {
            installFailures.failed(error); // the enclave process, not the snapshot: try again
            continue;
          }
          if (error.code === "not_syncing") return;
          refused.add(commitment);
          log.warn(
            { hash, from: fetched.from, code: error.code },
            `snapshot refused by the enclave: ${error.message}`,
          );
          continue;
        }
        if (!local) this.options.store.write(fetched.bytes, hash);
        log.info(
          {
            slot: syncing.slot,
            sequence: syncing.sequence,
            hash,
            bytes: fetched.bytes.length,
            from: fetched.from,
          },
          "state snapshot installed: the node answers again",
        );
        return;
      }
      await this.sleep(POLL_MS);
    }
  }

  /** Adds the commitments for `slot` at position `at` in blocks after `scanned`; returns the last block read. */
  private async scan(slot: bigint, at: bigint, scanned: bigint, into: Commitment[]): Promise<bigint> {
    const { publicClient } = this.options.wallet;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    for (const { from, to } of blockPages(scanned + 1n, head)) {
      const logs = await publicClient.getContractEvents({
        address: this.options.contract,
        abi: anonifyAbi,
        eventName: "SnapshotCommitted",
        fromBlock: from,
        toBlock: to,
        strict: true,
      });
      for (const { args } of logs) {
        const hash = args.snapshotHash.toLowerCase() as Hex;
        if (args.epoch !== slot || args.at !== at) continue;
        // Each commitment on its own: members commit the same bytes, each with its own signature.
        const commitment: Commitment = {
          hash,
          enclave: args.enclave,
          nonce: args.nonce.toString(),
          stateDigest: args.stateDigest,
          signature: args.signature,
        };
        if (into.some((c) => c.signature === commitment.signature)) continue;
        into.push(commitment);
        this.options.log.info(
          { slot: slot.toString(), hash, by: args.enclave },
          "snapshot commitment seen on chain",
        );
      }
    }
    return head;
  }

  /** The bytes of `hash` from the first peer that serves bytes with that hash. */
  private async fetchFromPeers(
    hash: Hex,
    failures: Map<string, FailureLog>,
  ): Promise<{ bytes: Buffer; from: string } | undefined> {
    const fetcher = this.options.fetch ?? globalThis.fetch;
    for (const peer of this.peers) {
      if (this.stopped) return undefined;
      const failure = failures.get(peer) ?? new FailureLog(this.options.log, `snapshot from peer ${peer}`);
      failures.set(peer, failure);
      try {
        const res = await fetcher(new URL(`/v1/snapshots/${hash}`, peer), {
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        });
        if (!res.ok) {
          await res.body?.cancel();
          failure.failed(`HTTP ${res.status}`);
          continue;
        }
        const bytes = await bodyUpTo(res, MAX_SNAPSHOT_BYTES);
        if (!bytes) {
          failure.failed(`more than ${MAX_SNAPSHOT_BYTES} bytes`);
          continue;
        }
        if (snapshotHashOf(bytes) !== hash) {
          failure.failed("served bytes that do not match the hash committed on chain");
          continue;
        }
        failure.succeeded();
        return { bytes, from: peer };
      } catch (error) {
        failure.failed(firstLine(error));
      }
    }
    return undefined;
  }

  /** Hands the bytes to the enclave in pieces that fit the boundary's frames, with their commitment. */
  private async install(bytes: Buffer, { hash: _hash, ...commitment }: Commitment): Promise<void> {
    for (let offset = 0; offset < bytes.length; offset += SNAPSHOT_CHUNK_BYTES) {
      const piece = bytes.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES);
      await this.options.enclave.call("installSnapshot", {
        bytes: `0x${piece.toString("hex")}`,
        offset,
        total: bytes.length,
        commitment,
      });
    }
  }
}
