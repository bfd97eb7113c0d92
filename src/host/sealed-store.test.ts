import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SEALED_JOURNAL_FILE, SEALED_STATE_FILE, SealedStore } from "./sealed-store.js";

describe("sealed store", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-sealed-store-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("cuts a record torn by a crash before appending, so the next record is a line of its own", () => {
    writeFileSync(join(dir, SEALED_STATE_FILE), "0x01");
    writeFileSync(join(dir, SEALED_JOURNAL_FILE), "0xaa\n0xbb"); // 0xbb was being written
    const store = new SealedStore(dir);
    assert.deepEqual(store.read()?.sealedJournal, ["0xaa"], "a torn record is not handed over");
    store.keep({ journal: { seq: 3, kind: "accepted", sealed: "0xcc" } });
    store.keep({ journal: { seq: 4, kind: "accepted", sealed: "0xdd" } });
    store.close();
    assert.equal(readFileSync(join(dir, SEALED_JOURNAL_FILE), "utf8"), "0xaa\n0xcc\n0xdd\n");
    assert.deepEqual(new SealedStore(dir).read()?.sealedJournal, ["0xaa", "0xcc", "0xdd"]);
  });

  it("keeps a whole journal as it is and replaces it with a newer snapshot", () => {
    const whole = mkdtempSync(join(dir, "whole-"));
    writeFileSync(join(whole, SEALED_STATE_FILE), "0x01");
    writeFileSync(join(whole, SEALED_JOURNAL_FILE), "0xaa\n0xbb\n");
    const store = new SealedStore(whole);
    store.keep({ journal: { seq: 3, kind: "accepted", sealed: "0xcc" } });
    store.keep({ journal: { seq: 4, kind: "snapshot", sealed: "0xee" } });
    store.keep({ journal: { seq: 2, kind: "accepted", sealed: "0x02" } }); // older than the snapshot
    store.close();
    assert.deepEqual(store.read()?.sealedJournal, ["0xee"]);
  });
});
