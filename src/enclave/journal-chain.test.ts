// The journal's hash chain on its own: what a host that keeps the records may drop, duplicate or
// reorder, and what a restore then refuses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import { EnclaveCallError } from "../boundary/frames.js";
import { GENESIS, type Linked, recordHash, verifiedChain } from "./journal-chain.js";

type Record = Linked & { body: string };

/** Records numbered from `from`, each naming the hash of the one before (`prev` for the first). */
function chainOf(kinds: string[], from = 1, prev: Hex = GENESIS, tag = ""): Record[] {
  const records: Record[] = [];
  for (const [i, kind] of kinds.entries()) {
    const fields = { seq: from + i, prev, kind, body: `${tag}${from + i}` };
    const hash = recordHash(new TextEncoder().encode(JSON.stringify(fields)));
    records.push({ ...fields, hash });
    prev = hash;
  }
  return records;
}

const seqs = (records: Record[]) => records.map((r) => r.seq);
const broken = (records: Record[], message: RegExp) =>
  assert.throws(
    () => verifiedChain(records),
    (e: unknown) => e instanceof EnclaveCallError && e.code === "journal_broken" && message.test(e.message),
  );

describe("journal hash chain", () => {
  const [a, b, c, d] = chainOf(["accepted", "accepted", "batched", "accepted"]) as [
    Record,
    Record,
    Record,
    Record,
  ];

  it("takes the records in any order, and the same record twice", () => {
    assert.deepEqual(seqs(verifiedChain([d, b, a, c, b, a])), [1, 2, 3, 4]);
    assert.deepEqual(verifiedChain([]), []);
  });

  it("refuses a record missing from the middle or from the start; the tail may go", () => {
    broken([a, b, d], /record 3 is missing/);
    broken([b, c, d], /before 2 are missing/);
    assert.deepEqual(seqs(verifiedChain([a, b])), [1, 2]);
  });

  it("refuses two different records of one number, and a record of another history", () => {
    // After a restore without c and d, the enclave went on from b: c2 and d2 follow b, not c.
    const [c2, d2] = chainOf(["accepted", "accepted"], 3, b.hash, "fork") as [Record, Record];
    broken([a, b, c, c2], /two different journal records numbered 3/);
    broken([a, b, c, d2], /record 4 does not follow record 3/);
    assert.deepEqual(seqs(verifiedChain([d2, c2, a, b])), [1, 2, 3, 4]);
  });

  it("starts at the newest snapshot and ignores what comes before it", () => {
    const [s, e] = chainOf(["snapshot", "accepted"], 5, d.hash) as [Record, Record];
    // Record 4 dropped and a conflicting record 2 before the snapshot: neither matters.
    const [b2] = chainOf(["accepted"], 2, a.hash, "other") as [Record];
    assert.deepEqual(seqs(verifiedChain([e, a, b, b2, c, s])), [5, 6]);
    assert.deepEqual(seqs(verifiedChain([s])), [5]);
    const [f, g] = chainOf(["accepted", "accepted"], 7, e.hash) as [Record, Record];
    broken([s, e, g], /record 7 is missing/);
    // Without its snapshot, the records after it lead to nothing.
    broken([a, b, c, d, e, f], /record 5 is missing/);
    assert.deepEqual(seqs(verifiedChain([s, e, f, g])), [5, 6, 7, 8]);
    const [s2] = chainOf(["snapshot"], 5, d.hash, "other") as [Record];
    broken([s, s2, e], /two different journal records numbered 5/);
  });
});
