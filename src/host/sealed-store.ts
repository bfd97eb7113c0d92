// The host's copies of what its enclave seals: the node state (a checkpoint) and the command
// journal. The host cannot read either; it keeps them whole across crashes.
import { closeSync, existsSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import type { JournalEntry } from "../boundary/calls.js";
import { writeAtomic } from "../chain/files.js";

export const SEALED_STATE_FILE = "sealed-state.hex";
/** Sealed journal records, one hex line each. */
export const SEALED_JOURNAL_FILE = "sealed-journal.hex";

/** The lines a file holds whole: a record torn by a crash (no newline after it) is not one. */
export function completeLines(text: string): string[] {
  const lines = text.split("\n");
  lines.pop();
  return lines.filter((line) => line.length > 0);
}

/** What the enclave resumes from: its state as last sealed and the journal of commands since. */
export type SealedCopy = { sealedState: Hex; sealedJournal: Hex[] };

/**
 * A sealed state kept for rolling back after a reorganisation: the block of the enclave's cursor as
 * the host last heard it when the state was sealed (a restore reports the exact one), and the
 * highest journal record the host held then.
 */
type Checkpoint = { sealedState: Hex; block: bigint | undefined; journalSeq: number };

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

  constructor(hostDir: string) {
    this.statePath = join(hostDir, SEALED_STATE_FILE);
    this.journalPath = join(hostDir, SEALED_JOURNAL_FILE);
  }

  /** What a restart hands the enclave, if a state was ever sealed here. */
  read(): SealedCopy | undefined {
    if (!existsSync(this.statePath)) return undefined;
    // Hex as this store wrote it; the enclave checks every byte of it anyway.
    return {
      sealedState: readFileSync(this.statePath, "utf8").trim() as Hex,
      sealedJournal: existsSync(this.journalPath)
        ? (completeLines(readFileSync(this.journalPath, "utf8")) as Hex[])
        : [],
    };
  }

  /** Where the enclave's cursor is, as an answer of it said: the states it seals next are tagged with it. */
  noteCursor(block: bigint | undefined): void {
    this.cursorBlock = block;
  }

  /** Stores what an enclave answer sealed, if anything. */
  keep(sealed: { sealedState?: Hex; journal?: JournalEntry }): void {
    if (sealed.sealedState) {
      writeAtomic(this.statePath, sealed.sealedState);
      this.checkpoints.push({
        sealedState: sealed.sealedState,
        block: this.cursorBlock,
        journalSeq: this.journalSeq,
      });
      if (this.checkpoints.length > MAX_CHECKPOINTS) this.checkpoints.shift();
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
    const sealedJournal = this.read()?.sealedJournal ?? [];
    return this.checkpoints
      .filter((c) => c.block !== undefined && c.block <= block)
      .reverse()
      .map((checkpoint) => ({ sealedState: checkpoint.sealedState, sealedJournal, checkpoint }));
  }

  /**
   * After a rollback: the restored checkpoint is what a restart resumes from, and the ones after it
   * hold events the chain no longer has.
   */
  adopt(checkpoint: Checkpoint): void {
    writeAtomic(this.statePath, checkpoint.sealedState);
    this.checkpoints = this.checkpoints.slice(0, this.checkpoints.indexOf(checkpoint) + 1);
  }

  /** Records at or below this are not kept: before the snapshot, and before what a rollback needs. */
  private retainedAfter(): number {
    const oldest = this.checkpoints[0];
    const beforeSnapshot = this.snapshotSeq - 1;
    return oldest ? Math.min(beforeSnapshot, oldest.journalSeq - RETAINED_BEFORE_CHECKPOINT) : beforeSnapshot;
  }

  private keepJournal(entry: JournalEntry): void {
    if (entry.seq <= this.retainedAfter()) return; // already inside a newer snapshot
    this.journalSeq = Math.max(this.journalSeq, entry.seq);
    if (entry.kind !== "snapshot") {
      this.records.push(entry);
      this.journalFd ??= this.openForAppend();
      writeSync(this.journalFd, `${entry.sealed}\n`);
      return;
    }
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
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }
}
