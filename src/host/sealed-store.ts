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
 * The sealed state file, replaced whole, and the journal file: the latest journal snapshot, then
 * the records after it, one per line. Answers may reach here out of order, so the record numbers
 * decide what a snapshot replaces.
 */
export class SealedStore {
  private readonly statePath: string;
  private readonly journalPath: string;
  private snapshotSeq = 0;
  private sinceSnapshot: JournalEntry[] = [];
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

  /** Stores what an enclave answer sealed, if anything. */
  keep(sealed: { sealedState?: Hex; journal?: JournalEntry }): void {
    if (sealed.sealedState) writeAtomic(this.statePath, sealed.sealedState);
    if (sealed.journal) this.keepJournal(sealed.journal);
  }

  private keepJournal(entry: JournalEntry): void {
    if (entry.seq <= this.snapshotSeq) return; // already inside a newer snapshot
    if (entry.kind !== "snapshot") {
      this.sinceSnapshot.push(entry);
      this.journalFd ??= this.openForAppend();
      writeSync(this.journalFd, `${entry.sealed}\n`);
      return;
    }
    this.snapshotSeq = entry.seq;
    this.sinceSnapshot = this.sinceSnapshot.filter((e) => e.seq > entry.seq);
    this.close();
    writeAtomic(this.journalPath, [entry, ...this.sinceSnapshot].map((e) => `${e.sealed}\n`).join(""));
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
