// A member's checkpoint in pieces: the large maps of its ledger (the app state's maps, the nonces, the
// receipts) are cut into buckets, each sealed on its own; the manifest (calls/checkpoint.ts) names
// every piece by the SHA-256 of its sealed bytes, inside its own sealed plaintext.
//
// Why: the checkpoint was sealed whole on every group change and every 30 s, and a join is two of
// them per member (proposing the add, applying it). At 100,000 accounts and 50,000 receipts that was
// 11–25 s per seal on this machine (2 cores, shared): the hex of 29 MB (13–18 s, now through Buffer,
// sealed-checkpoint.ts), the canonical encoding (3–8 s), copying out absent fields (1–4 s) and
// XChaCha20 (2–3 s). A piece whose entries are the very same values as at the last seal is not
// encoded or sealed again: its sealed bytes are reused, and the host, which stored them then, is not
// sent them again. A seal costs one pass over the maps' entries plus what changed.
//
// Buckets: receipts by sequence (RECEIPTS_PER_PIECE of them), so new receipts fill new pieces at the
// tail and old ones are dropped whole; every other map by a keyed hash of the key, in 2^bits buckets
// of about ENTRIES_PER_PIECE entries (bits grow with the map; a change of bits re-seals that map once).
// The key (`bucketKey`, random, sealed in the manifest) keeps the host from telling which accounts
// share a bucket: it sees which pieces change between checkpoints, so an unkeyed hash would tell it
// which accounts' balances moved. What it still learns: that some account of a bucket (1/2^bits of
// them, unknown to it) changed within a checkpoint interval, and each piece's size.
//
// Against the host: a piece from another checkpoint, a missing piece or an old copy does not have the
// hash the manifest names (or is not there), and the restore is refused; a piece also names its map
// and bucket in its sealed plaintext, checked against where the manifest puts it.
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import type { Hex } from "viem";
import { encodeValue, type StateKey, type StateValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import { EnclaveCallError } from "../boundary/frames.js";
import { type CheckpointPiece, hexOf, pieceHash } from "../boundary/sealed-checkpoint.js";
import type { LedgerAppState, StoredReceipt } from "./confidential-ledger.js";

/** Maps with fewer entries stay in the manifest: pieces pay off only for large ones. */
export const SPLIT_MIN_ENTRIES = 4_096;
/** Entries per keyed bucket, about (~35 KB of balances, the size a change re-seals). */
export const ENTRIES_PER_PIECE = 512;
/** Receipts per piece, by sequence: one batch of up to 1,024 commands fills one or two. */
export const RECEIPTS_PER_PIECE = 1_024n;
/** At most 2^12 buckets per map: the manifest names each piece (~40 bytes). */
const MAX_BUCKET_BITS = 12;
const BUCKET_KEY_BYTES = 32;
const RECEIPTS = "receipts";
const NONCES = "nonces";
const APP_PREFIX = "appState.";

type Entry = readonly [StateKey, unknown];
/** Where a map's pieces are: its path in the ledger, how it is bucketed, its size, and (bucket, hash) per piece. */
export type SplitMap = { path: string; bits: number; size: number; pieces: [number, Hex][] };
/** What a piece holds, as sealed (checkpoint.ts adds version and address). */
export type PiecePlain = { path: string; bucket: number; entries: ReadonlyMap<StateKey, unknown> };
export type PieceSealer = {
  seal(piece: PiecePlain): Promise<Uint8Array>;
  /** Unseals a piece of this identity and layout; refuses (`sealed_state_invalid`) anything else. */
  open(sealed: Uint8Array): Promise<PiecePlain>;
};

type CachedBucket = { entries: Entry[]; hash: Hex; sealed: Uint8Array };
/** `source`: the map these pieces were cut from. */
type MapCache = {
  source: ReadonlyMap<StateKey, unknown>;
  bits: number;
  keyBuckets: Map<StateKey, number>;
  buckets: Map<number, CachedBucket>;
};
/** The pieces of the last checkpoint sealed or restored here: the host holds each of them. */
export type PieceCache = { bucketKey: Uint8Array | undefined; maps: Map<string, MapCache> };

export const emptyPieceCache = (): PieceCache => ({ bucketKey: undefined, maps: new Map() });

const invalid = (reason: string) => new EnclaveCallError("sealed_state_invalid", reason);

const bitsFor = (size: number): number =>
  size <= ENTRIES_PER_PIECE ? 0 : Math.min(MAX_BUCKET_BITS, Math.ceil(Math.log2(size / ENTRIES_PER_PIECE)));

const sequenceBucket = (stored: unknown): number =>
  Number((stored as StoredReceipt).receipt.sequence / RECEIPTS_PER_PIECE);

function keyedBucket(bucketKey: Uint8Array, key: StateKey, bits: number): number {
  if (bits === 0) return 0;
  const encoded = encodeValue(key);
  const input = new Uint8Array(bucketKey.length + encoded.length);
  input.set(bucketKey);
  input.set(encoded, bucketKey.length);
  const digest = sha256(input);
  return new DataView(digest.buffer, digest.byteOffset).getUint32(0) >>> (32 - bits);
}

type LargeMap = { path: string; map: ReadonlyMap<StateKey, unknown> };

/** The ledger's maps worth splitting: nonces, receipts, and the app state's own top-level maps. */
function largeMaps(ledger: LedgerAppState): LargeMap[] {
  const maps: LargeMap[] = [
    { path: NONCES, map: ledger.nonces },
    { path: RECEIPTS, map: ledger.receipts },
  ];
  const app = ledger.appState;
  if (typeof app === "object" && app !== null && !Array.isArray(app) && !(app instanceof Map))
    for (const [field, value] of Object.entries(app))
      if (value instanceof PersistentMap || value instanceof Map)
        maps.push({ path: `${APP_PREFIX}${field}`, map: value as ReadonlyMap<StateKey, unknown> });
  return maps.filter((m) => m.map.size >= SPLIT_MIN_ENTRIES);
}

/** The ledger with the map at each path replaced. */
function withMaps(ledger: LedgerAppState, maps: Map<string, ReadonlyMap<StateKey, unknown>>): LedgerAppState {
  let next = ledger;
  for (const [path, map] of maps) {
    if (path === NONCES || path === RECEIPTS) next = { ...next, [path]: map };
    else if (path.startsWith(APP_PREFIX) && typeof next.appState === "object" && next.appState !== null)
      next = { ...next, appState: { ...next.appState, [path.slice(APP_PREFIX.length)]: map } as StateValue };
    else throw invalid(`the manifest names an unknown map ${path}`);
  }
  return next;
}

const sameEntries = (a: Entry[], b: Entry[]): boolean =>
  a.length === b.length && a.every(([k, v], i) => k === b[i]![0] && v === b[i]![1]);

export type SealedPieces = {
  /** The ledger with its large maps emptied: what the manifest holds itself. */
  ledger: LedgerAppState;
  split: SplitMap[];
  bucketKey: Hex;
  /** Every piece, in manifest order; bytes only for those the host does not hold yet. */
  pieces: CheckpointPiece[];
  /** The cache once this checkpoint is handed out. */
  cache: PieceCache;
};

/** Seals the pieces of `ledger` that changed since the cache's checkpoint; reuses the others. */
export async function sealPieces(
  sealer: PieceSealer,
  cache: PieceCache,
  ledger: LedgerAppState,
): Promise<SealedPieces> {
  const bucketKey = cache.bucketKey ?? randomBytes(BUCKET_KEY_BYTES);
  const next: PieceCache = { bucketKey, maps: new Map() };
  const split: SplitMap[] = [];
  const pieces: CheckpointPiece[] = [];
  const emptied = new Map<string, ReadonlyMap<StateKey, unknown>>();
  for (const { path, map } of largeMaps(ledger)) {
    const bits = path === RECEIPTS ? 0 : bitsFor(map.size);
    const before = cache.maps.get(path);
    const reusable = before && before.bits === bits ? before : undefined;
    emptied.set(path, PersistentMap.empty());
    // The very map sealed last time, and immutable: every piece stands, with no pass over its
    // entries (that pass was most of a seal between batches, ~0.7 s at 100,000 holders).
    if (reusable && reusable.source === map && map instanceof PersistentMap) {
      const refs = [...reusable.buckets]
        .sort(([x], [y]) => x - y)
        .map(([b, { hash }]): [number, Hex] => [b, hash]);
      for (const [, hash] of refs) pieces.push({ hash, bytes: undefined });
      next.maps.set(path, reusable);
      split.push({ path, bits, size: map.size, pieces: refs });
      continue;
    }
    const keyBuckets = new Map<StateKey, number>();
    const groups = new Map<number, Entry[]>();
    for (const entry of map) {
      const [key, value] = entry;
      let bucket: number;
      if (path === RECEIPTS) bucket = sequenceBucket(value);
      else {
        bucket = reusable?.keyBuckets.get(key) ?? keyedBucket(bucketKey, key, bits);
        keyBuckets.set(key, bucket);
      }
      const group = groups.get(bucket);
      if (group) group.push(entry);
      else groups.set(bucket, [entry]);
    }
    const buckets = new Map<number, CachedBucket>();
    const refs: [number, Hex][] = [];
    for (const bucket of [...groups.keys()].sort((x, y) => x - y)) {
      const entries = groups.get(bucket)!;
      const cached = reusable?.buckets.get(bucket);
      const fresh = !cached || !sameEntries(cached.entries, entries);
      const sealed = fresh ? await sealer.seal({ path, bucket, entries: new Map(entries) }) : cached.sealed;
      const hash = fresh ? pieceHash(sealed) : cached.hash;
      buckets.set(bucket, { entries, hash, sealed });
      refs.push([bucket, hash]);
      pieces.push({ hash, bytes: fresh ? sealed : undefined });
    }
    next.maps.set(path, { source: map, bits, keyBuckets, buckets });
    split.push({ path, bits, size: map.size, pieces: refs });
  }
  return { ledger: withMaps(ledger, emptied), split, bucketKey: hexOf(bucketKey), pieces, cache: next };
}

/**
 * The ledger the manifest describes, its maps rebuilt from the pieces it names (looked up by hash
 * in `carried`), and the cache of those pieces. Refuses a missing piece, one named elsewhere than it
 * says it belongs, a key in two pieces, or a map of another size than the manifest says.
 */
export async function openPieces(
  sealer: PieceSealer,
  manifest: { ledger: LedgerAppState; split: SplitMap[]; bucketKey: Hex },
  carried: ReadonlyMap<Hex, Uint8Array>,
): Promise<{ ledger: LedgerAppState; cache: PieceCache }> {
  const cache: PieceCache = { bucketKey: Buffer.from(manifest.bucketKey.slice(2), "hex"), maps: new Map() };
  const maps = new Map<string, ReadonlyMap<StateKey, unknown>>();
  for (const { path, bits, size, pieces } of manifest.split) {
    const entries: Entry[] = [];
    const keyBuckets = new Map<StateKey, number>();
    const sealedOf = new Map<number, { hash: Hex; sealed: Uint8Array }>();
    for (const [bucket, hash] of pieces) {
      const sealed = carried.get(hash);
      if (!sealed) throw invalid(`a piece of the checkpoint is missing (${path}, bucket ${bucket})`);
      const piece = await sealer.open(sealed);
      if (piece.path !== path || piece.bucket !== bucket)
        throw invalid(`a piece of ${piece.path} stands where the manifest names ${path}`);
      for (const entry of piece.entries) {
        entries.push(entry);
        if (path !== RECEIPTS) keyBuckets.set(entry[0], bucket);
      }
      sealedOf.set(bucket, { hash, sealed });
    }
    const map = PersistentMap.from(entries);
    if (map.size !== entries.length || map.size !== size)
      throw invalid(`the pieces of ${path} do not make the map the manifest names`);
    // Grouped in the map's own order, as the next seal groups them, so unchanged pieces are reused.
    const groups = new Map<number, Entry[]>();
    for (const entry of map) {
      const bucket = path === RECEIPTS ? sequenceBucket(entry[1]) : keyBuckets.get(entry[0])!;
      const group = groups.get(bucket);
      if (group) group.push(entry);
      else groups.set(bucket, [entry]);
    }
    const buckets = new Map<number, CachedBucket>();
    for (const [bucket, group] of groups) {
      const piece = sealedOf.get(bucket);
      if (!piece) throw invalid(`an entry of ${path} lies outside its piece`);
      buckets.set(bucket, { entries: group, ...piece });
    }
    cache.maps.set(path, { source: map, bits, keyBuckets, buckets });
    maps.set(path, map);
  }
  return { ledger: withMaps(manifest.ledger, maps), cache };
}
