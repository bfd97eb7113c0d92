// Group commit of accepted commands' journal records (SealedStore.keepAccepted): the records of one
// tick share one write, none is acknowledged before that write, a failed write acknowledges none,
// and the journal keeps the order the enclave produced its records in.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Hex } from "viem";
import type { JournalEntry } from "../boundary/call-results.js";
import { SEALED_JOURNAL_FILE, SEALED_STATE_FILE, SealedStore } from "./sealed-store.js";

/** Accepts at once, as concurrent submits within one tick. */
const CONCURRENT = 16;

const accepted = (seq: number): JournalEntry => ({
  seq,
  kind: "accepted",
  sealed: `0x${seq.toString(16).padStart(4, "0")}` as Hex,
});

describe("sealed store: group commit of accepted records", () => {
  const root = mkdtempSync(join(tmpdir(), "anonify-journal-group-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let dirs = 0;
  const freshDir = () => {
    const dir = join(root, String(dirs++));
    mkdirSync(dir);
    writeFileSync(join(dir, SEALED_STATE_FILE), "0x01");
    return dir;
  };
  const journalLines = (dir: string) => {
    try {
      return readFileSync(join(dir, SEALED_JOURNAL_FILE), "utf8").split("\n").filter(Boolean);
    } catch {
      return []; // not written yet
    }
  };

  it("writes the records accepted in one tick together, and answers none before that write", async () => {
    const dir = freshDir();
    const store = new SealedStore(dir);
    const entries = Array.from({ length: CONCURRENT }, (_, i) => accepted(i + 1));
    const seenAtAck: number[] = [];
    const acks = entries.map((e) =>
      store.keepAccepted(e).then(() => seenAtAck.push(journalLines(dir).length)),
    );
    assert.deepEqual(journalLines(dir), [], "nothing is written while the tick's accepts gather");
    await Promise.all(acks);
    // The first acknowledgement already found every record on disk: one write held them all.
    assert.deepEqual(seenAtAck, Array(CONCURRENT).fill(CONCURRENT));
    assert.deepEqual(
      journalLines(dir),
      entries.map((e) => e.sealed),
    );
    store.close();
  });

  it("a failed write rejects every command of its group; a restart finds each acknowledged one", async () => {
    const dir = freshDir();
    const store = new SealedStore(dir);
    await store.keepAccepted(accepted(1));
    // The journal cannot be written: a directory stands where its file was (set aside meanwhile).
    store.close();
    const journal = join(dir, SEALED_JOURNAL_FILE);
    renameSync(journal, `${journal}.aside`);
    mkdirSync(journal);
    const results = await Promise.allSettled(
      Array.from({ length: CONCURRENT }, (_, i) => store.keepAccepted(accepted(i + 2))),
    );
    assert.ok(
      results.every((r) => r.status === "rejected"),
      "no command of a failed write is acknowledged",
    );
    rmSync(journal, { recursive: true });
    renameSync(`${journal}.aside`, journal);
    await store.keepAccepted(accepted(2));
    store.close();
    // What a restarted host hands its enclave: every acknowledged record, none of the failed group.
    assert.deepEqual(new SealedStore(dir).read()?.sealedJournal, [accepted(1).sealed, accepted(2).sealed]);
  });

  it("writes a tick's waiting records before any later record, so the hash chain stays in order", async () => {
    const dir = freshDir();
    const store = new SealedStore(dir);
    const acks = [store.keepAccepted(accepted(1)), store.keepAccepted(accepted(2))];
    const batched: JournalEntry = { seq: 3, kind: "batched", sealed: "0x0003" };
    store.keep({ journal: batched }); // a batch's record, kept at once (not grouped)
    assert.deepEqual(journalLines(dir), [accepted(1).sealed, accepted(2).sealed, batched.sealed]);
    await Promise.all(acks);
    store.close();
  });

  it("a restore reads the records still gathering, and a close writes them", async () => {
    const dir = freshDir();
    const store = new SealedStore(dir);
    const first = store.keepAccepted(accepted(1));
    assert.deepEqual(store.read()?.sealedJournal, [accepted(1).sealed]);
    await first;
    const second = store.keepAccepted(accepted(2));
    store.close();
    await second;
    assert.deepEqual(journalLines(dir), [accepted(1).sealed, accepted(2).sealed]);
  });
});
