// A large checkpoint in pieces: a seal after a small change carries only the piece that changed, and
// a restore takes only the pieces its manifest names — not one of another checkpoint, not an old copy,
// not a set with one missing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Hex, keccak256, toHex } from "viem";
import type { StateValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import {
  bytesOfHex,
  decodeSealedCheckpoint,
  encodeSealedCheckpoint,
  hexOf,
  type SealedCheckpoint,
} from "../boundary/sealed-checkpoint.js";
import { checkpointCalls, sealState } from "./calls/checkpoint.js";
import { groupCalls } from "./calls/group.js";
import { identityCalls } from "./calls/identity.js";
import { RECEIPTS_PER_PIECE, SPLIT_MIN_ENTRIES } from "./checkpoint-pieces.js";
import type { StoredReceipt } from "./confidential-ledger.js";
import type { EnclaveContext, Session } from "./context.js";
import { contextOn, DOMAIN } from "./test-harness.js";

const HOLDERS = SPLIT_MIN_ENTRIES + 1_000;
const RECEIPTS = SPLIT_MIN_ENTRIES;

const holder = (i: number): Hex => keccak256(toHex(i)).slice(0, 42) as Hex;
const receipt = (i: number): StoredReceipt => ({
  receipt: { sequence: BigInt(i), status: "applied" },
  responseKey: keccak256(toHex(`key-${i}`)),
});
const open = (hex: Hex) => decodeSealedCheckpoint(bytesOfHex(hex));
const container = (checkpoint: SealedCheckpoint) => hexOf(encodeSealedCheckpoint(checkpoint));
/** What a host holds after keeping both: every piece of `later`, with the bytes it got earlier. */
function whole(later: SealedCheckpoint, ...earlier: SealedCheckpoint[]): SealedCheckpoint {
  const bytes = new Map(
    [later, ...earlier].flatMap((c) =>
      c.pieces.flatMap((p) => (p.bytes ? [[p.hash, p.bytes] as const] : [])),
    ),
  );
  return { ...later, pieces: later.pieces.map((p) => ({ hash: p.hash, bytes: bytes.get(p.hash) })) };
}

describe("a checkpoint in pieces", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-pieces-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let sealedIdentity: Hex;
  let context: EnclaveContext;
  let session: Session;
  let first: SealedCheckpoint;
  let second: SealedCheckpoint;

  const balancesOf = (s: Session) => (s.ledger.appState as { balances: PersistentMap<Hex, bigint> }).balances;
  const withBalance = (s: Session, address: Hex, value: bigint) => {
    const appState = s.ledger.appState as { balances: PersistentMap<Hex, bigint> };
    s.ledger = {
      ...s.ledger,
      appState: { ...appState, balances: appState.balances.set(address, value) } as unknown as StateValue,
    };
  };
  /** A fresh enclave of the same identity, restoring `sealedState`. */
  const restored = async (sealedState: Hex) => {
    const fresh = contextOn(dir);
    await identityCalls(fresh).init({ ...DOMAIN, sealedIdentity });
    await checkpointCalls(fresh).restoreState({ sealedState, sealedJournal: [] });
    return fresh;
  };
  const refused = (sealedState: Hex, message: RegExp) =>
    assert.rejects(restored(sealedState), (e: Error & { code?: string }) => {
      assert.equal(e.code, "sealed_state_invalid");
      assert.match(e.message, message);
      return true;
    });

  before(async () => {
    context = contextOn(dir);
    ({ sealedIdentity } = await identityCalls(context).init(DOMAIN));
    await groupCalls(context).keyPackage({ nonce: "0" });
    session = context.session!;
    let balances = PersistentMap.empty<Hex, bigint>();
    for (let i = 0; i < HOLDERS; i++) balances = balances.set(holder(i), BigInt(i + 1));
    let receipts = PersistentMap.empty<Hex, StoredReceipt>();
    for (let i = 0; i < RECEIPTS; i++) receipts = receipts.set(keccak256(toHex(i)), receipt(i));
    session.ledger = {
      ...session.ledger,
      appState: { ...(session.ledger.appState as object), balances } as StateValue,
      receipts,
    };
    first = open(await sealState(context, session));
    withBalance(session, holder(7), 1_000_000n);
    second = open(await sealState(context, session));
  });

  it("carries every piece the first time, then only the one that changed", () => {
    const receiptPieces = Number(BigInt(RECEIPTS) / RECEIPTS_PER_PIECE);
    assert.ok(first.pieces.length > receiptPieces + 1, "balances and receipts are in several pieces");
    assert.ok(first.pieces.every((p) => p.bytes));
    assert.equal(second.pieces.length, first.pieces.length);
    assert.equal(second.pieces.filter((p) => p.bytes).length, 1);
  });

  it("restores from the manifest and every piece it names, and goes on sending only changes", async () => {
    const fresh = await restored(container(whole(second, first)));
    const s = fresh.session!;
    assert.equal(balancesOf(s).size, HOLDERS);
    assert.equal(balancesOf(s).get(holder(7)), 1_000_000n);
    assert.equal(s.ledger.receipts.get(keccak256(toHex(5)))?.receipt.sequence, 5n);
    // The restored pieces are the host's: a seal with nothing changed sends none again.
    const again = open(await sealState(fresh, s));
    assert.equal(again.pieces.filter((p) => p.bytes).length, 0);
    assert.deepEqual(
      again.pieces.map((p) => p.hash),
      second.pieces.map((p) => p.hash),
    );
  });

  it("names the same pieces whether the map is the one sealed last or an equal copy, and sees a Map changed in place", async () => {
    const cached = context.pieces.maps.get("appState.balances");
    const same = open(await sealState(context, session));
    assert.equal(
      context.pieces.maps.get("appState.balances"),
      cached,
      "the very map: no pass, its cache kept",
    );
    const copied = {
      ...(session.ledger.appState as object),
      balances: PersistentMap.from(balancesOf(session)),
    } as { balances: ReadonlyMap<Hex, bigint> };
    session.ledger = { ...session.ledger, appState: copied as unknown as StateValue };
    const copy = open(await sealState(context, session));
    for (const checkpoint of [same, copy]) {
      assert.equal(checkpoint.pieces.filter((p) => p.bytes).length, 0);
      assert.deepEqual(
        checkpoint.pieces.map((p) => p.hash),
        second.pieces.map((p) => p.hash),
      );
    }
    // A native Map is not immutable: the same object may hold other entries by the next seal.
    const native = new Map(balancesOf(session));
    session.ledger = {
      ...session.ledger,
      appState: { ...copied, balances: native } as unknown as StateValue,
    };
    await sealState(context, session);
    native.set(holder(9), 5n);
    const changed = open(await sealState(context, session));
    assert.equal(changed.pieces.filter((p) => p.bytes).length, 1);
    session.ledger = { ...session.ledger, appState: { ...copied } as unknown as StateValue };
  });

  it("refuses a missing piece, an old copy of one, and a piece of another checkpoint", async () => {
    await refused(container(second), /missing/);
    const full = whole(second, first);
    const changed = second.pieces.findIndex((p) => p.bytes);
    // The old copy of the changed piece, named by its own hash: not the piece the manifest names.
    const old = first.pieces[changed]!;
    await refused(container({ ...full, pieces: full.pieces.with(changed, old) }), /missing/);
    // The old copy under the new piece's name: the container itself is refused.
    const renamed = { hash: full.pieces[changed]!.hash, bytes: old.bytes };
    await refused(container({ ...full, pieces: full.pieces.with(changed, renamed) }), /hash/);
    // The first checkpoint's manifest with the second's pieces: one of its own is missing.
    await refused(container({ ...full, manifest: first.manifest }), /missing/);
    // A piece dropped from the container.
    await refused(container({ ...full, pieces: full.pieces.filter((_, i) => i !== 0) }), /missing/);
    // A byte changed in the manifest.
    const manifest = Uint8Array.from(full.manifest);
    manifest[manifest.length - 1]! ^= 1;
    await refused(container({ ...full, manifest }), /./);
  });
});
