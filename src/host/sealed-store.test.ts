import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  bytesOfHex,
  decodeSealedCheckpoint,
  encodeSealedCheckpoint,
  hexOf,
  pieceHash,
} from "../boundary/sealed-checkpoint.js";
import {
  SEALED_JOURNAL_FILE,
  SEALED_PIECES_DIR,
  SEALED_STATE_FILE,
  SealedStore,
  sealedCheckpointBytes,
} from "./sealed-store.js";

/** A checkpoint as an enclave answer carries it: the pieces named, only `carried` with their bytes. */
const answer = (manifest: number, pieces: Uint8Array[], carried: Uint8Array[]) =>
  hexOf(
    encodeSealedCheckpoint({
      manifest: new Uint8Array([manifest]),
      pieces: pieces.map((bytes) => ({
        hash: pieceHash(bytes),
        bytes: carried.includes(bytes) ? bytes : undefined,
      })),
    }),
  );

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

  it("keeps each piece once, by hash, hands a restart every piece back, and deletes those no checkpoint names", () => {
    const pieces = mkdtempSync(join(dir, "pieces-"));
    const [a, b, c] = [new Uint8Array([1, 1]), new Uint8Array([2, 2]), new Uint8Array([3, 3])];
    const store = new SealedStore(pieces);
    store.keep({ sealedState: answer(1, [a, b], [a, b]) });
    store.keep({ sealedState: answer(2, [a, c], [c]) }); // a unchanged: not carried again
    const restored = decodeSealedCheckpoint(bytesOfHex(new SealedStore(pieces).read()!.sealedState));
    assert.deepEqual(restored.manifest, new Uint8Array([2]));
    assert.deepEqual(
      restored.pieces.map((p) => p.bytes),
      [a, c],
    );
    const stub = readFileSync(join(pieces, SEALED_STATE_FILE), "utf8");
    assert.equal(sealedCheckpointBytes(pieces), bytesOfHex(stub).length + a.length + c.length);
    // b is named by the first checkpoint, still kept for a rollback; once it is settled away, b goes.
    assert.equal(readdirSync(join(pieces, SEALED_PIECES_DIR)).length, 3);
    store.settle(10n);
    store.keep({ sealedState: answer(3, [a, c], []) });
    assert.equal(readdirSync(join(pieces, SEALED_PIECES_DIR)).length, 2);
  });
});
