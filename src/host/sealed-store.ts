// The host's copies of what its enclave seals: the node state (a checkpoint) and the command
// journal. The host cannot read either; it keeps them whole across crashes.
//
// A checkpoint comes as a sealed manifest and pieces (src/boundary/sealed-checkpoint.ts), of which
// each answer carries only those sealed anew: the host keeps each piece once, in a file named by its
// hash, and the state file holds the manifest and the hashes of its pieces (the container without
// their bytes). A restore gets the container with every piece put back; pieces no kept checkpoint
// names are deleted.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import type { GroupSummary, JournalEntry } from "../boundary/call-results.js";
import {
  bytesOfHex,
  decodeSealedCheckpoint,
  encodeSealedCheckpoint,
  hexOf,
  type SealedCheckpoint,
} from "../boundary/sealed-checkpoint.js";
import { writeAtomic } from "../chain/files.js";

/** What an enclave's answer may carry for its host to keep: a sealed checkpoint, a journal record. */
export type SealedOutput = { sealedState?: Hex; journal?: JournalEntry };

/** Keeps what an enclave's answer sealed, and notes the group it reports: one callback for every caller. */
export type Keep = (answer: SealedOutput & { group?: GroupSummary }) => void;

export const SEALED_STATE_FILE = "sealed-state.hex";
/** Sealed journal records, one hex line each. */
export const SEALED_JOURNAL_FILE = "sealed-journal.hex";
/** The pieces of the kept checkpoints, one file each, `<hash>.bin`. */
export const SEALED_PIECES_DIR = "sealed-pieces";
const PIECE_SUFFIX = ".bin";

/** The bytes of the checkpoint a restart resumes from, on disk: the state file and every piece it names. */
export function sealedCheckpointBytes(hostDir: string): number {
  const stub = readFileSync(join(hostDir, SEALED_STATE_FILE), "utf8").trim();
  const pieces = decodeSealedCheckpoint(bytesOfHex(stub)).pieces;
  return (
    (stub.length - 2) / 2 +
    pieces.reduce((n, p) => n + statSync(join(hostDir, SEALED_PIECES_DIR, p.hash + PIECE_SUFFIX)).size, 0)
  );
}

/** A container's pieces without their bytes (what the state file holds), or undefined if it is none. */
function stubOf(sealedState: Hex): { stub: Hex; checkpoint: SealedCheckpoint } | undefined {
  try {
    const checkpoint = decodeSealedCheckpoint(bytesOfHex(sealedState));
    const stub = encodeSealedCheckpoint({
      manifest: checkpoint.manifest,
      pieces: checkpoint.pieces.map((p) => ({ hash: p.hash, bytes: undefined })),
    });
    return { stub: hexOf(stub), checkpoint };
  } catch {
    return undefined; // not a container (another version): kept as it is, for the enclave to refuse
  }
}

/** The lines a file holds whole: a record torn by a crash (no newline after it) is not one. */
export function completeLines(text: string): string[] {
  const lines = text.split("\n");
  lines.pop();
  return lines.filter((line) => line.length > 0);
}

/**
 * What the enclave resumes from: its state as last sealed and the journal of commands since; for a
 * rollback to an older state, the newest one too (without its pieces), for the own commits it holds.
 */
export type SealedCopy = { sealedState: Hex; sealedJournal: Hex[]; latestSealedState?: Hex };

/**
 * A sealed state kept for rolling back after a reorganisation: the block of the enclave's cursor as
 * the host last heard it when the state was sealed (a restore reports the exact one), and the
 * highest journal record the host held then.
 */
type Checkpoint = { sealedState: Hex; pieces: Hex[]; block: bigint | undefined; journalSeq: number };

/** Sealed states kept for rollbacks at most (each may be megabytes): the oldest go first. */
const MAX_CHECKPOINTS = 8;
/**
 * Journal records kept from before the oldest checkpoint's, besides: answers may reach the host out
 * of order, and a record kept too many costs nothing (the enclave drops what it already applied).
 */
const RETAINED_BEFORE_CHECKPOINT = 256;

/**
 * The sealed state file, replaced whole, and the journal file: the journal records since the oldest
 * checkpoint kept for rollbacks (or since the latest journal snapshot), one per line. Answers may
 * reach here out of order, so the record numbers decide what a snapshot replaces.
 */
export class SealedStore {
  private readonly statePath: string;
  private readonly journalPath: string;
  private readonly piecesDir: string;
  private snapshotSeq = 0;
  private journalSeq = 0;
  /** The records this process keeps in the journal file, by number. */
  private records: JournalEntry[] = [];
  /** Sealed states a reorganisation may roll back to, oldest first (this process's only). */
  private checkpoints: Checkpoint[] = [];
  /** The block of the enclave's cursor, as its last answer that named one said. */
  private cursorBlock: bigint | undefined;
  /** One open file for the appends (a record per accepted command or batch), reopened after each rewrite. */
  private journalFd: number | undefined;
  /** Whether the tail a previous process left has been checked (rewrites here always end whole). */
  private tailChecked = false;
  /** Accepted commands' records waiting for this tick's one write, with their callers' answers. */
  private group: { entry: JournalEntry; written: () => void; failed: (error: unknown) => void }[] = [];

  constructor(hostDir: string) {
    this.statePath = join(hostDir, SEALED_STATE_FILE);
    this.journalPath = join(hostDir, SEALED_JOURNAL_FILE);
    this.piecesDir = join(hostDir, SEALED_PIECES_DIR);
  }

  /** A checkpoint as the enclave takes it: its pieces read back into the container. */
  private whole(sealedState: Hex): Hex {
    const stored = stubOf(sealedState);
    if (!stored) return sealedState;
    const pieces = stored.checkpoint.pieces.map((p) => {
      const path = this.piecePath(p.hash);
      // A piece gone missing is left out: the enclave refuses the checkpoint, naming it.
      return { hash: p.hash, bytes: existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined };
    });
    return hexOf(encodeSealedCheckpoint({ manifest: stored.checkpoint.manifest, pieces }));
  }

  private piecePath(hash: Hex): string {
    return join(this.piecesDir, hash + PIECE_SUFFIX);
  }

  /** Writes the state file (after the pieces it names are on disk), then deletes the pieces nothing names. */
  private writeState(sealedState: Hex, pieces: Hex[]): void {
    writeAtomic(this.statePath, sealedState);
    if (!existsSync(this.piecesDir)) return;
    const named = new Set([...pieces, ...this.checkpoints.flatMap((c) => c.pieces)]);
    for (const file of readdirSync(this.piecesDir))
      if (!named.has(file.slice(0, -PIECE_SUFFIX.length) as Hex))
        rmSync(join(this.piecesDir, file), { force: true });
  }

  /** What a restart hands the enclave, if a state was ever sealed here. */
  read(): SealedCopy | undefined {
    const stub = this.stateStub();
    return stub && { sealedState: this.whole(stub), sealedJournal: this.readJournal() };
  }

  /** The state file: the newest checkpoint without its pieces (hex as this store wrote it; the enclave checks every byte). */
  private stateStub(): Hex | undefined {
    return existsSync(this.statePath) ? (readFileSync(this.statePath, "utf8").trim() as Hex) : undefined;
  }

  private readJournal(): Hex[] {
    this.flushGroup(); // a restore reads every record its enclave produced, acknowledged or about to be
    return existsSync(this.journalPath)
      ? (completeLines(readFileSync(this.journalPath, "utf8")) as Hex[])
      : [];
  }

  /** Where the enclave's cursor is, as an answer of it said: the states it seals next are tagged with it. */
  noteCursor(block: bigint | undefined): void {
    this.cursorBlock = block;
  }

  /** Stores what an enclave answer sealed, if anything. */
  keep(sealed: SealedOutput): void {
    if (sealed.sealedState) {
      const stored = stubOf(sealed.sealedState);
      const pieces = stored?.checkpoint.pieces ?? [];
      for (const piece of pieces) {
        if (!piece.bytes) continue;
        mkdirSync(this.piecesDir, { recursive: true, mode: 0o700 });
        writeAtomic(this.piecePath(piece.hash), piece.bytes);
      }
      const checkpoint: Checkpoint = {
        sealedState: stored?.stub ?? sealed.sealedState,
        pieces: pieces.map((p) => p.hash),
        block: this.cursorBlock,
        journalSeq: this.journalSeq,
      };
      this.checkpoints.push(checkpoint);
      if (this.checkpoints.length > MAX_CHECKPOINTS) this.checkpoints.shift();
      this.writeState(checkpoint.sealedState, checkpoint.pieces);
    }
    if (sealed.journal) this.keepJournal(sealed.journal);
  }

  /**
   * Drops the checkpoints no reorganisation can need once blocks up to `settled` are beyond one:
   * the newest at or before it stays, and every later one.
   */
  settle(settled: bigint): void {
    while (this.checkpoints.length > 1 && (this.checkpoints[1]!.block ?? -1n) <= settled)
      this.checkpoints.shift();
  }

  /**
   * What a rollback to block `block` may restore, newest first: each checkpoint sealed at or before
   * it (as tagged; the restore tells the exact cursor), with the journal as kept.
   */
  rollbackCandidates(block: bigint): (SealedCopy & { checkpoint: Checkpoint })[] {
    const sealedJournal = this.readJournal();
    const latestSealedState = this.stateStub();
    return this.checkpoints
      .filter((c) => c.block !== undefined && c.block <= block)
      .reverse()
      .map((checkpoint) => ({
        sealedState: this.whole(checkpoint.sealedState),
        sealedJournal,
        latestSealedState,
        checkpoint,
      }));
  }

  /**
   * After a rollback: the restored checkpoint is what a restart resumes from, and the ones after it
   * hold events the chain no longer has.
   */
  adopt(checkpoint: Checkpoint): void {
    this.checkpoints = this.checkpoints.slice(0, this.checkpoints.indexOf(checkpoint) + 1);
    this.writeState(checkpoint.sealedState, checkpoint.pieces);
  }

  /** Records at or below this are not kept: before the snapshot, and before what a rollback needs. */
  private retainedAfter(): number {
    const oldest = this.checkpoints[0];
    const beforeSnapshot = this.snapshotSeq - 1;
    return oldest ? Math.min(beforeSnapshot, oldest.journalSeq - RETAINED_BEFORE_CHECKPOINT) : beforeSnapshot;
  }

  /**
   * Group commit: keeps an accepted command's record with the others accepted in this tick, in one
   * write for them all instead of one each. Resolves once the write holding it has returned (the
   * client hears 202 only then, so an acknowledged command is on disk as surely as before), rejects
   * if it failed (no command of that group is acknowledged).
   */
  keepAccepted(entry: JournalEntry): Promise<void> {
    return new Promise((written, failed) => {
      if (this.group.length === 0) setImmediate(() => this.flushGroup());
      this.group.push({ entry, written, failed });
    });
  }

  /**
   * Writes the waiting records. Also called before any other record is written: the journal is a
   * hash chain, and a later record on disk without an earlier one would break a restore.
   */
  private flushGroup(): void {
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    try {
      this.append(group.map((g) => g.entry));
    } catch (error) {
      for (const g of group) g.failed(error);
      return;
    }
    for (const g of group) g.written();
  }

  /** Appends records in one write, in the order given. */
  private append(entries: JournalEntry[]): void {
    const kept = entries.filter((e) => e.seq > this.retainedAfter()); // others: inside a newer snapshot
    if (kept.length === 0) return;
    this.journalFd ??= this.openForAppend();
    writeSync(this.journalFd, kept.map((e) => `${e.sealed}\n`).join(""));
    for (const e of kept) this.journalSeq = Math.max(this.journalSeq, e.seq);
    this.records.push(...kept);
  }

  private keepJournal(entry: JournalEntry): void {
    this.flushGroup();
    if (entry.kind !== "snapshot") {
      this.append([entry]);
      return;
    }
    if (entry.seq <= this.retainedAfter()) return; // already inside a newer snapshot
    this.journalSeq = Math.max(this.journalSeq, entry.seq);
    this.snapshotSeq = Math.max(this.snapshotSeq, entry.seq);
    const after = this.retainedAfter();
    this.records = [...this.records, entry].filter((e) => e.seq > after).sort((a, b) => a.seq - b.seq);
    this.close();
    writeAtomic(this.journalPath, this.records.map((e) => `${e.sealed}\n`).join(""));
  }

  /**
   * A record torn by a crash (no newline after it) is cut off before the first append, so the next
   * record starts a line of its own instead of joining the torn one into a line nobody can read.
   */
  private openForAppend(): number {
    if (!this.tailChecked && existsSync(this.journalPath)) {
      const text = readFileSync(this.journalPath, "latin1");
      if (!text.endsWith("\n")) truncateSync(this.journalPath, text.lastIndexOf("\n") + 1);
    }
    this.tailChecked = true;
    return openSync(this.journalPath, "a", 0o600);
  }

  close(): void {
    this.flushGroup(); // an accept in this tick is written, not dropped unanswered
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }
}
