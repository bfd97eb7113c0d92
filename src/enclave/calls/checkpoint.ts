// What the host keeps sealed for the enclave, and how the enclave resumes from it: the full state
// (identity-bound, sealed at most every FULL_SEAL_INTERVAL_MS and on group changes; a restart
// replays the events after it) and the journal of accepted-but-unordered commands, which are the
// only state not on chain and so are journaled before the host answers.
//
// One codec for all of it: the canonical value encoding (src/app/canonical.ts: JSON plus bigint and
// Map, decoded strictly) of the enclave's own state values, with absent fields left out; only
// ts-mls's objects are turned into their wire bytes first (group-member.ts `sealableGroup`).
//
// The full state crosses as a sealed checkpoint (src/boundary/sealed-checkpoint.ts): a sealed
// manifest — group, cursor, the ledger without its large maps, and the hash of every piece those maps
// were cut into — and the pieces, each sealed on its own (checkpoint-pieces.ts), of which an answer
// carries only those sealed anew; the host stores each by hash and hands all back at restore.
//
// The host hands the sealed state back, so it could roll the enclave back: a restore is taken at
// most once per enclave process, and only before any call that changes state (`sessionToChange`);
// the journal is a hash chain (journal-chain.ts), so no record can go missing from its middle.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { decodeValue, encodeValue, type StateValue } from "../../app/canonical.js";
import { PersistentMap } from "../../app/pmap.js";
import type { Divergence, JournalEntry } from "../../boundary/call-results.js";
import type { EventCursor } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import {
  bytesOfHex,
  decodeSealedCheckpoint,
  encodeSealedCheckpoint,
  hexOf,
  type SealedCheckpoint,
} from "../../boundary/sealed-checkpoint.js";
import {
  openPieces,
  type PiecePlain,
  type PieceSealer,
  type SplitMap,
  sealPieces,
} from "../checkpoint-pieces.js";
import type { InFlight, LedgerAppState, Queued } from "../confidential-ledger.js";
import {
  type CallHandlers,
  type CheckpointClock,
  type EnclaveContext,
  groupView,
  requireSession,
  type Session,
} from "../context.js";
import { withOwnCommits } from "../group-member.js";
import { type SealedGroup, sealableGroup, unsealedGroup, unsealedOwnCommits } from "../group-seal.js";
import type { History } from "../history.js";
import { GENESIS, type Linked, recordHash, verifiedChain } from "../journal-chain.js";
import { withJournal } from "../ledger-journal.js";
import { SealingError, seal, unseal } from "../sealing.js";

const NODE_STATE_SEAL_LABEL = "node-state";
const JOURNAL_SEAL_LABEL = "command-journal";
const PIECE_SEAL_LABEL = "node-state-piece";
/** The full state is sealed at most this often; the events after it are replayed after a restart. */
export const FULL_SEAL_INTERVAL_MS = 30_000;
/** A snapshot is written after at least this many records (so a short queue is not snapshotted per batch either). */
const MIN_RECORDS_BETWEEN_SNAPSHOTS = 256;
/**
 * The layout of sealed state and journal records; a blob of any other version is refused. 6: the
 * checkpoint in pieces (a manifest with `split` and `bucketKey`, its ledger without the large maps);
 * 7: the group's own commits kept (`ownCommits`), not one pending commit; 8: the event sequence's
 * cursor and history, state digests and a divergence.
 */
const NODE_STATE_VERSION = 8;

type SealedNodeState = {
  version: number;
  address: Hex;
  cursor: EventCursor | undefined;
  history: History;
  diverged: Divergence | undefined;
  group: SealedGroup;
  /** Without the maps in `split`: those are in the pieces the manifest names. */
  ledger: LedgerAppState;
  split: SplitMap[];
  bucketKey: Hex;
};
type SealedPiece = PiecePlain & { version: number; address: Hex };

/**
 * What a journal record holds: a snapshot of what awaits ordering, one command accepted since, or
 * the batches in flight since (which commands left the queue for which batch nonce).
 */
type JournalBody =
  | { kind: "snapshot"; queue: Queued[]; inFlight: InFlight[] }
  | { kind: "accepted"; queued: Queued }
  | { kind: "batched"; inFlight: InFlight[] };
/** `prev`: the hash of the record before it (journal-chain.ts). */
type JournalRecord = { version: number; address: Hex; seq: number; prev: Hex } & JournalBody;

/** The commands a journal record holds, whatever its kind. */
function commandsOf(record: JournalBody): Queued[] {
  if (record.kind === "accepted") return [record.queued];
  const inFlight = record.inFlight.flatMap((b) => b.commands);
  return record.kind === "snapshot" ? [...inFlight, ...record.queue] : inFlight;
}

/** A copy without the fields that are undefined (absent), which the canonical encoding refuses. */
function withoutAbsent(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAbsent);
  if (value instanceof Map || value instanceof PersistentMap)
    return new Map([...value].map(([k, v]) => [k, withoutAbsent(v)]));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, withoutAbsent(v)]])),
  );
}

// Every sealed shape here holds only JSON values, bigints and maps, which is what StateValue admits.
const plaintextOf = (value: object): Uint8Array => encodeValue(withoutAbsent(value) as StateValue);

function sealValue(context: EnclaveContext, value: object, label: string): Promise<Uint8Array> {
  return seal(context.platform, context.measured, plaintextOf(value), { label });
}

/** Whether the full state is due for sealing: on group changes, else at most every interval. */
export const fullSealDue = (context: EnclaveContext, groupChanged: boolean): boolean =>
  groupChanged || Date.now() - context.checkpoint.lastFullSeal >= FULL_SEAL_INTERVAL_MS;

/**
 * Whether to seal though nothing asks for it: the interval passed and the state moved on since it
 * was last sealed (a joiner that installed its snapshot, commands accepted). For the host's every
 * tick (`proposeHandshake`): `applyEvents` seals at the interval too, but comes only with events.
 */
export function idleSealDue(context: EnclaveContext, session: Session): boolean {
  const last = context.checkpoint.sealed;
  const moved =
    !last ||
    last.group !== session.group ||
    last.ledger !== session.ledger ||
    last.cursor !== session.cursor ||
    last.diverged !== session.diverged;
  return moved && fullSealDue(context, false);
}

/** Seals and opens the pieces of this identity and layout. */
function pieceSealer(context: EnclaveContext, session: Session): PieceSealer {
  const address = session.identity.address;
  return {
    seal: (piece) => sealValue(context, { version: NODE_STATE_VERSION, address, ...piece }, PIECE_SEAL_LABEL),
    open: async (sealed) =>
      (await unsealValue<SealedPiece>(context, session, sealed, PIECE_SEAL_LABEL)).value,
  };
}

/** The checkpoint, as the container the host stores: the manifest and the pieces sealed anew. */
export async function sealState(context: EnclaveContext, session: Session): Promise<Hex> {
  const startedAt = Date.now();
  const held = {
    group: session.group,
    ledger: session.ledger,
    cursor: session.cursor,
    diverged: session.diverged,
  };
  const { ledger, split, bucketKey, pieces, cache } = await sealPieces(
    pieceSealer(context, session),
    context.pieces,
    session.ledger,
  );
  const state: SealedNodeState = {
    version: NODE_STATE_VERSION,
    address: session.identity.address,
    cursor: session.cursor,
    history: session.history,
    diverged: session.diverged,
    group: sealableGroup(session.group),
    ledger,
    split,
    bucketKey,
  };
  const manifest = await sealValue(context, state, NODE_STATE_SEAL_LABEL);
  // From here on the host holds these pieces: the next checkpoint sends only what changes. Marked
  // sealed only now: a seal that failed leaves the next tick to try again.
  context.pieces = cache;
  Object.assign(context.checkpoint, {
    lastFullSeal: startedAt,
    sealed: held,
  } satisfies Partial<CheckpointClock>);
  return hexOf(encodeSealedCheckpoint({ manifest, pieces }));
}

/**
 * One small record per accepted command and one per change of the batches in flight, appended by
 * the host; a snapshot of queue and batches once the records since the last one outnumber what it
 * holds (the host then drops the records before it), so a long queue is not rewritten per batch.
 */
export async function journal(
  context: EnclaveContext,
  session: Session,
  record: JournalBody,
): Promise<JournalEntry> {
  const clock = context.checkpoint;
  const seq = ++clock.journalSeq;
  clock.recordsSinceSnapshot = record.kind === "snapshot" ? 0 : clock.recordsSinceSnapshot + 1;
  const full: JournalRecord = {
    version: NODE_STATE_VERSION,
    address: session.identity.address,
    seq,
    prev: clock.journalHead,
    ...record,
  };
  const plain = plaintextOf(full);
  clock.journalHead = recordHash(plain);
  const sealed = await seal(context.platform, context.measured, plain, { label: JOURNAL_SEAL_LABEL });
  return { seq, kind: record.kind, sealed: bytesToHex(sealed) };
}

/** The record for a change of the batches in flight: a snapshot when one is due, else the batches alone. */
export function journalBatches(context: EnclaveContext, session: Session): Promise<JournalEntry> {
  const { queue, inFlight } = session.ledger;
  const live = queue.length + inFlight.reduce((n, b) => n + b.commands.length, 0);
  if (context.checkpoint.recordsSinceSnapshot < Math.max(MIN_RECORDS_BETWEEN_SNAPSHOTS, live))
    return journal(context, session, { kind: "batched", inFlight });
  return journal(context, session, { kind: "snapshot", queue, inFlight });
}

/** A sealed value of this identity and layout, and the plaintext it was sealed from. */
async function unsealValue<T extends { version: number; address: Hex }>(
  context: EnclaveContext,
  session: Session,
  sealed: Hex | Uint8Array,
  label: string,
): Promise<{ value: T; plain: Uint8Array }> {
  let value: T;
  let plain: Uint8Array;
  try {
    const bytes = typeof sealed === "string" ? hexToBytes(sealed) : sealed;
    plain = await unseal(context.platform, context.measured, bytes, { label });
    // Sealed (authenticated) by this measurement under `label`: it is what sealState or journal
    // wrote, so it has their shape once its version is checked below.
    value = decodeValue(plain) as unknown as T;
  } catch (error) {
    const reason = error instanceof SealingError ? error.reason : `sealed ${label} is damaged`;
    throw new EnclaveCallError("sealed_state_invalid", reason);
  }
  if (value.version !== NODE_STATE_VERSION || value.address !== session.identity.address)
    throw new EnclaveCallError(
      "sealed_state_invalid",
      `sealed ${label} belongs to another enclave identity or version`,
    );
  return { value, plain };
}

function containerOf(sealedState: Hex): SealedCheckpoint {
  try {
    return decodeSealedCheckpoint(bytesOfHex(sealedState));
  } catch (error) {
    throw new EnclaveCallError("sealed_state_invalid", (error as Error).message);
  }
}

/** Restoring over state this process already holds would roll it back: once, and first. */
function refuseLateRestore(context: EnclaveContext): void {
  const closedBy = context.checkpoint.restoreClosedBy;
  if (closedBy === "restoreState")
    throw new EnclaveCallError("restore_closed", "the state was already restored once");
  if (closedBy)
    throw new EnclaveCallError(
      "restore_closed",
      `the state already changed here (${closedBy}); restore first`,
    );
}

export function checkpointCalls(context: EnclaveContext): Pick<CallHandlers, "restoreState"> {
  return {
    /**
     * Resumes from the state the host kept sealed: group state, registry view, event cursor, journal.
     * Everything is checked before anything changes; a refused restore may be retried.
     */
    restoreState: async ({ sealedState, sealedJournal = [], latestSealedState }) => {
      const session = requireSession(context);
      refuseLateRestore(context);
      const openManifest = async (manifest: Uint8Array) =>
        (await unsealValue<SealedNodeState>(context, session, manifest, NODE_STATE_SEAL_LABEL)).value;
      const checkpoint = containerOf(sealedState);
      const manifest = await openManifest(checkpoint.manifest);
      // Own commits made after the restored state: a rollback must not make this enclave lose one the
      // chain orders again. Any state this enclave sealed serves (its commits are its own either way).
      const laterCommits = latestSealedState
        ? unsealedOwnCommits((await openManifest(containerOf(latestSealedState).manifest)).group)
        : [];
      const carried = new Map(
        checkpoint.pieces.flatMap((p) => (p.bytes ? [[p.hash, p.bytes] as const] : [])),
      );
      const { ledger: sealedLedger, cache } = await openPieces(
        pieceSealer(context, session),
        manifest,
        carried,
      );
      const state = { ...manifest, ledger: sealedLedger };
      const records: (JournalRecord & Linked)[] = [];
      for (const blob of sealedJournal) {
        const { value, plain } = await unsealValue<JournalRecord>(context, session, blob, JOURNAL_SEAL_LABEL);
        records.push({ ...value, hash: recordHash(plain) });
      }
      const chain = verifiedChain(records);
      const snapshot = chain[0]?.kind === "snapshot" ? chain[0] : undefined;
      const since = snapshot ? chain.slice(1) : chain;
      const accepted = since.flatMap((r) => (r.kind === "accepted" ? [r.queued] : []));
      const batched = since.findLast((r) => r.kind === "batched");
      // Records the host kept from before the snapshot (for a rollback to an older checkpoint):
      // every command they hold is offered again; what the checkpoint's ledger applied is dropped.
      const first = chain[0]?.seq ?? 0;
      const earlier = records
        .filter((r) => r.seq < first)
        .sort((x, y) => x.seq - y.seq)
        .flatMap(commandsOf);
      const group = withOwnCommits(await unsealedGroup(state.group, session.domain), laterCommits);
      const ledger = withJournal(state.ledger, {
        snapshot: snapshot ? { queue: snapshot.queue, inFlight: snapshot.inFlight } : undefined,
        accepted,
        inFlight: batched?.kind === "batched" ? batched.inFlight : undefined,
        earlier,
      });
      Object.assign(session, {
        group,
        ledger,
        cursor: state.cursor,
        history: state.history,
        diverged: state.diverged,
      } satisfies Partial<Session>);
      context.pieces = cache;
      // The journal continues from the last record restored.
      Object.assign(context.checkpoint, {
        journalSeq: chain.at(-1)?.seq ?? 0,
        journalHead: chain.at(-1)?.hash ?? GENESIS,
        recordsSinceSnapshot: since.length,
        lastFullSeal: Date.now(),
        restoreClosedBy: "restoreState",
        // Not what was restored: the journal's commands and the newest state's own commits joined it,
        // and only a seal keeps them once a rollback made this older checkpoint the one to resume from.
        sealed: undefined,
      } satisfies Partial<CheckpointClock>);
      return groupView(session, context.appId);
    },
  };
}
