// Joining with state (flow 6). An enclave that joins the group after batches were ordered cannot open
// them (they were sealed under epoch keys it never had), so its ledger is incomplete: it records where
// it joined and the key of its join epoch, answers nothing, and applies no batch after the join until a
// snapshot of the replicated ledger at that point is installed. Every complete member applying the
// handshake that added it captures that snapshot: the same bytes at every member (the encoding is
// canonical and the sealing deterministic, src/protocol/snapshot.ts), so any node can serve them; the
// committer of the handshake commits their hash on chain.
//
// What a snapshot holds is what every enclave computes alike from the chain: the app state, the
// per-sender nonces and the count of unreadable batches; its header (authenticated) names where it
// stands: the slot, the handshake's place in the contract's event sequence (`seq`, `head`), and the
// ledger's counts of commands and batches. Not the node-local queue, batches in flight
// or receipts (receipts of commands ordered before the join are not served by the joiner).
import { bytesToHex, encodeAbiParameters, type Hex, hexToBytes, parseAbiParameters } from "viem";
import { MigrationError } from "../app/app.js";
import {
  CanonicalError,
  decodeValue,
  encodeValue,
  type StateKey,
  type StateValue,
} from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import { exportSecret, type GroupState } from "../group/mls.js";
import { type LedgerDomain, snapshotDigest } from "../protocol/digests.js";
import { signedBy } from "../protocol/signatures.js";
import {
  openSnapshot,
  readSnapshotHeader,
  SNAPSHOT_KEY_BYTES,
  SnapshotError,
  type SnapshotHeader,
  sealSnapshot,
  snapshotHash,
} from "../protocol/snapshot.js";
import { sameDomain } from "../protocol/wire.js";
import type { LedgerAppState, LedgerSync, ProducedSnapshot } from "./confidential-ledger.js";
import { ledgerRoot, stateDigestAt } from "./ledger-digest.js";

/**
 * Why this ledger cannot answer, if it cannot: it waits for its snapshot, or this enclave is not a
 * member and batches were ordered that it could not open (it will need a snapshot when it joins).
 */
export function incompleteLedger(ledger: LedgerAppState, member: boolean): string | undefined {
  if (ledger.syncing)
    return `this node joined the group at slot ${ledger.syncing.slot} and waits for its state snapshot`;
  if (!member && ledger.batches > 0n)
    return "this node is not a group member: it cannot know the state of the batches ordered so far";
  return undefined;
}

/** The MLS exporter label of the snapshot key; its context binds the chain, the contract and the slot. */
export const SNAPSHOT_KEY_LABEL = "anonify/snapshot-key/v1";
/** Snapshots this enclave produced that it still signs a commitment for (the newest). */
export const MAX_PRODUCED_SNAPSHOTS = 8;
const ADDRESS = /^0x[0-9a-f]{40}$/;
const DIGEST = /^0x[0-9a-f]{64}$/;

export type SnapshotRefusalCode =
  | "wrong_domain"
  | "snapshot_mismatch"
  | "snapshot_invalid"
  | "cannot_migrate";

/**
 * A snapshot of the app this enclave's upgrades from (src/enclave/app-upgrade.ts), taken by a joiner
 * of the app upgraded to: one whose state digest names `appState` (the older app's) is accepted only
 * at a join after the upgrade position `after`, and its state is migrated as it is installed.
 */
export type SnapshotMigration = {
  appState: Hex;
  after: bigint;
  /** Throws `MigrationError` (src/app/app.ts) if this app cannot migrate that state. */
  migrate(state: StateValue): StateValue;
};

/** Why a snapshot is refused; nothing changed. */
export class SnapshotRefused extends Error {
  override name = "SnapshotRefused";
  constructor(
    readonly code: SnapshotRefusalCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * The key of the snapshot for `slot`, from the MLS exporter of the epoch that slot's handshake opened:
 * every member of that epoch derives it, the joiners from their Welcome, and nobody outside the group.
 */
export function snapshotKey(group: GroupState, domain: LedgerDomain, slot: bigint): Promise<Uint8Array> {
  const context = hexToBytes(
    encodeAbiParameters(parseAbiParameters("uint256, address, uint64"), [
      BigInt(domain.chainId),
      domain.contract,
      slot,
    ]),
  );
  return exportSecret(group, SNAPSHOT_KEY_LABEL, context, SNAPSHOT_KEY_BYTES);
}

/** Where a snapshot stands: the handshake that added the joiners, by slot and place in the event sequence. */
export type JoinPoint = { slot: bigint; seq: bigint; head: Hex };

function headerOf(ledger: LedgerAppState, domain: LedgerDomain, at: JoinPoint): SnapshotHeader {
  return { domain, ...at, sequence: ledger.sequence, batches: ledger.batches };
}

/** The payload's fields, in the canonical value encoding. */
type Payload = {
  app: StateValue;
  nonces: PersistentMap<Hex, bigint>;
  skippedBatches: bigint;
  /** The receipts chain (ledger-digest.ts): what stands in the state digest for receipts a joiner has not. */
  receiptsHead: Hex;
};

/** The ledger at this point, sealed for the joiners of `at.slot`: bytes and their hash (what goes on chain). */
export function captureSnapshot(
  ledger: LedgerAppState,
  domain: LedgerDomain,
  at: JoinPoint,
  key: Uint8Array,
): { bytes: Uint8Array; hash: Hex } {
  const payload: Payload = {
    app: ledger.appState,
    nonces: ledger.nonces,
    skippedBatches: ledger.skippedBatches,
    receiptsHead: ledger.receiptsHead,
  };
  const bytes = sealSnapshot(
    key,
    headerOf(ledger, domain, at),
    encodeValue(payload as unknown as StateValue),
  );
  return { bytes, hash: snapshotHash(bytes) };
}

/** Remembers a snapshot this enclave produced, so that it signs a commitment to it (and to nothing else). */
export function withProduced(ledger: LedgerAppState, produced: ProducedSnapshot): LedgerAppState {
  const kept = ledger.produced.filter((p) => p.hash !== produced.hash);
  return { ...ledger, produced: [...kept, produced].slice(-MAX_PRODUCED_SNAPSHOTS) };
}

/** The ledger of an enclave that just joined at `join` (in `block`) after batches were ordered: syncing. */
export function startSync(
  ledger: LedgerAppState,
  join: JoinPoint & { block: bigint; key: Uint8Array; digestKey: Uint8Array },
): LedgerAppState {
  const syncing: LedgerSync = {
    slot: join.slot,
    block: join.block,
    seq: join.seq,
    head: join.head,
    sequence: ledger.sequence,
    batches: ledger.batches,
    key: bytesToHex(join.key),
    digestKey: bytesToHex(join.digestKey),
  };
  return { ...ledger, syncing };
}

function same(a: SnapshotHeader, b: SnapshotHeader): string | undefined {
  if (a.slot !== b.slot) return `the snapshot is for slot ${a.slot}, this enclave joined at slot ${b.slot}`;
  if (a.seq !== b.seq || a.head !== b.head.toLowerCase())
    return `the snapshot stands at event ${a.seq}, this enclave joined at event ${b.seq} (or another history)`;
  if (a.sequence !== b.sequence || a.batches !== b.batches)
    return (
      `the snapshot stands at sequence ${a.sequence} (batch ${a.batches}), ` +
      `this enclave joined at sequence ${b.sequence} (batch ${b.batches})`
    );
  return undefined;
}

function payloadOf(bytes: Uint8Array): Payload {
  let value: StateValue;
  try {
    value = decodeValue(bytes);
  } catch (error) {
    if (error instanceof CanonicalError) throw new SnapshotRefused("snapshot_invalid", error.message);
    throw error;
  }
  const fields =
    value && typeof value === "object" && !Array.isArray(value) && !(value instanceof Map) ? value : {};
  const { app, nonces, skippedBatches, receiptsHead, ...rest } = fields as Record<
    string,
    StateValue | undefined
  >;
  if (Object.keys(rest).length > 0 || app === undefined)
    throw new SnapshotRefused("snapshot_invalid", "the snapshot's payload has other fields");
  if (!(nonces instanceof PersistentMap) || typeof skippedBatches !== "bigint" || skippedBatches < 0n)
    throw new SnapshotRefused("snapshot_invalid", "the snapshot's nonces or counts are malformed");
  if (typeof receiptsHead !== "string" || !DIGEST.test(receiptsHead))
    throw new SnapshotRefused("snapshot_invalid", "the snapshot's receipts head is malformed");
  for (const [sender, nonce] of nonces as PersistentMap<StateKey, StateValue>)
    if (typeof sender !== "string" || !ADDRESS.test(sender) || typeof nonce !== "bigint" || nonce < 1n)
      throw new SnapshotRefused("snapshot_invalid", "the snapshot's nonces are malformed");
  return {
    app,
    nonces: nonces as PersistentMap<Hex, bigint>,
    skippedBatches,
    receiptsHead: receiptsHead as Hex,
  };
}

/** A snapshot commitment as the chain holds it (`SnapshotCommitted`): who committed what, signed. */
export type SnapshotCommitment = { enclave: Hex; nonce: bigint; stateDigest: Hex; signature: Hex };

/**
 * Installs a snapshot into a syncing ledger: checked against this enclave's own view of where it
 * joined (domain, slot, position) before it is opened with the key of its join epoch, with the
 * commitment the chain holds of it: signed by an active enclave of this enclave's registry view over
 * this enclave's own head at the join (so by one whose history agreed with this one's there), for
 * these bytes, and naming the state digest that the installed state has, under the join epoch's
 * key. Throws `SnapshotRefused` with nothing changed.
 */
export function installSnapshot(
  ledger: LedgerAppState,
  domain: LedgerDomain,
  bytes: Uint8Array,
  commitment: SnapshotCommitment,
  committerActive: (enclave: Hex) => boolean,
  app: Hex,
  migration?: SnapshotMigration,
): LedgerAppState {
  const sync = ledger.syncing;
  if (!sync) throw new Error("installSnapshot on a ledger that is not syncing");
  let header: SnapshotHeader;
  try {
    header = readSnapshotHeader(bytes);
  } catch (error) {
    if (error instanceof SnapshotError) throw new SnapshotRefused("snapshot_invalid", error.reason);
    throw error;
  }
  if (!sameDomain(header.domain, domain))
    throw new SnapshotRefused("wrong_domain", "the snapshot is for another chain or contract");
  const mismatch = same(header, { domain, ...sync });
  if (mismatch) throw new SnapshotRefused("snapshot_mismatch", mismatch);
  const at = { seq: sync.seq, head: sync.head };
  const committed = snapshotDigest(
    domain,
    commitment.nonce,
    sync.slot,
    at,
    commitment.stateDigest,
    snapshotHash(bytes),
  );
  if (!committerActive(commitment.enclave) || !signedBy(committed, commitment.signature, commitment.enclave))
    throw new SnapshotRefused(
      "snapshot_mismatch",
      "the commitment is not signed by an active enclave over these bytes at this enclave's join",
    );
  let payload: Uint8Array;
  try {
    payload = openSnapshot(hexToBytes(sync.key), bytes).payload;
  } catch (error) {
    if (error instanceof SnapshotError) throw new SnapshotRefused("snapshot_invalid", error.reason);
    throw error;
  }
  const { app: appState, nonces, skippedBatches, receiptsHead } = payloadOf(payload);
  const installed = { ...ledger, appState, nonces, skippedBatches, receiptsHead, syncing: undefined };
  const digestKey = hexToBytes(sync.digestKey);
  const digest = stateDigestAt(digestKey, at, ledgerRoot(installed, app));
  if (digest === commitment.stateDigest) return installed;
  if (
    migration &&
    stateDigestAt(digestKey, at, ledgerRoot(installed, migration.appState)) === commitment.stateDigest
  )
    return migrated(installed, sync.seq, migration);
  throw new SnapshotRefused(
    "snapshot_mismatch",
    `the installed state's digest ${digest} is not the one committed (${commitment.stateDigest})`,
  );
}

/** A snapshot of the app upgraded from, migrated: only at a join after the upgrade (never a state of before it). */
function migrated(installed: LedgerAppState, joinedAt: bigint, migration: SnapshotMigration): LedgerAppState {
  if (joinedAt <= migration.after)
    throw new SnapshotRefused(
      "snapshot_mismatch",
      `the snapshot holds the state of the app upgraded from, and this enclave joined at event ${joinedAt}, ` +
        `not after the upgrade at event ${migration.after}: it applies no command of before the upgrade`,
    );
  try {
    return { ...installed, appState: migration.migrate(installed.appState) };
  } catch (error) {
    if (error instanceof MigrationError) throw new SnapshotRefused("cannot_migrate", error.message);
    throw error;
  }
}
