// The enclave's call set, defined once: each call's parameter schema, the type of its result, and
// the refusal codes it may answer with. The enclave dispatches and validates from this table
// (src/enclave/dispatch.ts); the host's `EnclaveProcess.call` is typed from it, so no call site
// restates a type. Everything here is plain JSON as it crosses: hex strings, decimal strings for
// 64-bit and larger integers, numbers for small ones.
//
// The refusal codes are in refusal-codes.ts, the result types in call-results.ts.
//
// Imports only pure modules (no enclave or host code): both sides load it.
import type { Hex } from "viem";
import {
  array,
  bool,
  decimal,
  hex,
  type Infer,
  int,
  type ObjectSchema,
  object,
  optional,
  string,
} from "../app/schema.js";
import { MAX_BATCH_COMMANDS, MAX_BATCHES_IN_FLIGHT } from "../protocol/batch.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../protocol/envelope.js";
import { MAX_PEER_URL_BYTES } from "../protocol/peer-url.js";
import { MAX_OUTPUTS_RECORD_BYTES } from "../protocol/public-outputs.js";
import { MAX_SNAPSHOT_BYTES } from "../protocol/snapshot.js";
import { MAX_NAME_BYTES, MAX_PARAMS_BYTES } from "../protocol/wire.js";
import type {
  ApplyResult,
  CheckOutputsResult,
  CommandStatusAnswer,
  GroupView,
  HandshakeProposal,
  InitResult,
  InstallSnapshotResult,
  PublicQueryResult,
  ResumedSession,
  SealBatchResult,
  SnapshotChunk,
  StatusResult,
  SubmitResult,
} from "./call-results.js";
import { LEDGER_EVENT } from "./chain-events.js";
import { type EnclaveErrorCode, REFUSED } from "./refusal-codes.js";

/** The most commands an enclave holds accepted and not yet ordered. */
export const MAX_QUEUED_COMMANDS = 100_000;
/**
 * At most this many of one sender's commands wait at a node (queued or in flight), so that one
 * sender cannot fill the queue everyone shares; well above what one client sends in a batch's time.
 */
export const MAX_QUEUED_PER_SENDER = 1_024;
/** A journal holds a snapshot and a record per command queued since (twice that across a restart). */
export const MAX_JOURNAL_RECORDS = 2 * (MAX_QUEUED_COMMANDS + 1);
/** A sealed identity is a few hundred bytes; anything much larger is not one. */
const MAX_SEALED_IDENTITY_BYTES = 4096;
/** A sealed journal record (a journal snapshot holds the whole queue). */
const MAX_SEALED_RECORD_BYTES = 16 * 1024 * 1024;
/**
 * A whole sealed checkpoint as a restore takes it (src/boundary/sealed-checkpoint.ts): ~29 MB at
 * 100,000 accounts and 50,000 receipts; as hex it crosses in several frames (frames.ts).
 */
const MAX_SEALED_CHECKPOINT_BYTES = 192 * 1024 * 1024;
export const MAX_EVENTS_PER_CALL = 10_000;
const MAX_CHAIN_ID = 2 ** 48;
/** The enclave's signature as the contract takes it: r ‖ s ‖ v. */
export const SIGNATURE_WITH_V_BYTES = 65;
const COMMAND_ID_BYTES = 32;
/** Outputs records per `checkOutputs` call: the host sends more in more calls. */
export const MAX_OUTPUTS_RECORDS_PER_CALL = 8;

/** Snapshot bytes cross the boundary in pieces of at most this size (hex doubles it in a frame). */
export const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;

/** A call's parameter schema, result type (carried in the type only) and refusal codes. */
export type CallSpec<P, R> = {
  readonly params: ObjectSchema<P>;
  readonly errors: readonly EnclaveErrorCode[];
  readonly result?: R;
};

/** `returns<R>()(params, errors)`: R is named, P is inferred from the schema. */
const returns =
  <R>() =>
  <P>(params: ObjectSchema<P>, errors: readonly EnclaveErrorCode[] = []): CallSpec<P, R> => ({
    params,
    errors,
  });

const none = object({});
/**
 * The enclave's record nonce on chain (`getEnclave`) that a key package or leave signature names.
 * The host reads it and passes it: it is public, and a wrong one only makes the host's own
 * transaction fail (the contract refuses the signature).
 */
const recordNonce = object({ nonce: decimal({ bits: 64 }) });
const envelope = hex({ min: 1, max: MAX_SEALED_MESSAGE_BYTES });
const sealedBlob = hex({ min: 1, max: MAX_SEALED_RECORD_BYTES });
/** Every call but status, init and restore needs an identity first; restore needs one too. */
const SESSION: readonly EnclaveErrorCode[] = ["invalid_argument", "not_initialized"];
/** A sealed command or query's refusals: the envelope's in clear (the schema bounds its size), then `refused`. */
const OPEN_REFUSALS: readonly EnclaveErrorCode[] = [
  "malformed",
  "unsupported_version",
  "wrong_kind",
  "wrong_domain",
  "undecryptable",
  REFUSED,
];

export const ENCLAVE_CALLS = {
  status: returns<StatusResult>()(none),
  /** Unseals the identity the host kept, or makes one, for one chain and contract. */
  init: returns<InitResult>()(
    object({
      chainId: int({ min: 1, max: MAX_CHAIN_ID }),
      contract: hex({ min: 20, max: 20 }),
      sealedIdentity: optional(hex({ max: MAX_SEALED_IDENTITY_BYTES })),
    }),
    ["invalid_argument", "already_initialized", "sealed_identity_invalid"],
  ),
  /** Evidence whose report data binds the enclave's keys to the chain and contract. */
  /** `app`: the app id the report data binds (`appIdOf`), which the host registers with. */
  quote: returns<{ evidence: Hex; reportData: Hex; platform: string; app: Hex }>()(none, SESSION),
  signLeave: returns<{ signature: Hex }>()(recordNonce, SESSION),
  /**
   * Signs the URL at which this enclave's node serves its API and snapshots, for its record nonce:
   * `announcePeer(nonce, url, signature)`. A URL a peer could not use (src/protocol/peer-url.ts) is
   * `invalid_argument`.
   */
  signPeerAnnouncement: returns<{ signature: Hex }>()(
    object({ nonce: decimal({ bits: 64 }), url: string({ minLength: 1, maxLength: MAX_PEER_URL_BYTES }) }),
    SESSION,
  ),
  restoreState: returns<GroupView>()(
    object({
      sealedState: hex({ min: 1, max: MAX_SEALED_CHECKPOINT_BYTES }),
      sealedJournal: optional(array(sealedBlob, { max: MAX_JOURNAL_RECORDS })),
      /** A rollback's: the newest state the host holds sealed, for the own commits it keeps. */
      latestSealedState: optional(hex({ min: 1, max: MAX_SEALED_CHECKPOINT_BYTES })),
    }),
    [...SESSION, "sealed_state_invalid", "restore_closed", "journal_broken"],
  ),
  /**
   * A host that connected again to this enclave, which kept its state (served in a VM, it outlived
   * the connection): the whole checkpoint sealed anew (every piece) and a journal snapshot, so that
   * what the host keeps is complete again whatever answers the drop lost; and where it stands.
   */
  resumeSession: returns<ResumedSession>()(none, SESSION),
  /** Signed for a record nonce never below one it was signed for before (else `stale_nonce`). */
  keyPackage: returns<{ keyPackage: Hex; signature: Hex; sealedState: Hex }>()(recordNonce, [
    ...SESSION,
    "stale_nonce",
  ]),
  applyEvents: returns<ApplyResult>()(object({ events: array(LEDGER_EVENT, { max: MAX_EVENTS_PER_CALL }) }), [
    ...SESSION,
    "out_of_order",
    "event_mismatch",
    "diverged",
  ]),
  /**
   * Records of batches' public outputs as the chain holds them (`OutputsPublished`), checked against
   * this enclave's own (src/enclave/calls/outputs.ts): one its batch's submitter signed over other
   * outputs stops this enclave (`diverged` in the answer); one its submitter did not sign is
   * `invalid_argument`, and changes nothing.
   */
  checkOutputs: returns<CheckOutputsResult>()(
    object({
      records: array(
        object({
          batch: decimal({ bits: 64 }),
          seq: decimal({ bits: 64 }),
          outputs: hex({ min: 1, max: MAX_OUTPUTS_RECORD_BYTES }),
          signature: hex({ min: SIGNATURE_WITH_V_BYTES, max: SIGNATURE_WITH_V_BYTES }),
        }),
        { max: MAX_OUTPUTS_RECORDS_PER_CALL },
      ),
    }),
    [...SESSION, "diverged"],
  ),
  proposeHandshake: returns<HandshakeProposal>()(object({ rotate: optional(bool()) }), SESSION),
  groupStatus: returns<GroupView>()(none, SESSION),
  /**
   * Opens a sealed command, checks signature, nonce and params, and queues it. A refusal after
   * opening is `refused` with the reason in `sealedReason` (a receipt sealed to the sender).
   */
  submitCommand: returns<SubmitResult>()(object({ envelope }), [
    ...SESSION,
    ...OPEN_REFUSALS,
    "queue_full",
    "syncing",
    "diverged",
    "upgraded",
  ]),
  sealBatch: returns<SealBatchResult>()(
    object({
      maxCommands: optional(int({ min: 1, max: MAX_BATCH_COMMANDS })),
      maxInFlight: optional(int({ min: 1, max: MAX_BATCHES_IN_FLIGHT })),
      /** Batches (by signature) whose ciphertext the host holds: offered again without it. */
      known: optional(
        array(hex({ min: SIGNATURE_WITH_V_BYTES, max: SIGNATURE_WITH_V_BYTES }), {
          max: MAX_BATCHES_IN_FLIGHT,
        }),
      ),
    }),
    SESSION,
  ),
  commandStatus: returns<CommandStatusAnswer>()(
    object({ id: hex({ min: COMMAND_ID_BYTES, max: COMMAND_ID_BYTES }) }),
    [...SESSION, "not_found", "syncing", "diverged", "upgraded"],
  ),
  /**
   * A signed, sealed query; the answer is sealed to the caller's response key, and so is the reason
   * of a refusal after opening (`refused`, `sealedReason`: a rejected answer).
   */
  query: returns<{ answer: Hex }>()(object({ envelope }), [
    ...SESSION,
    ...OPEN_REFUSALS,
    "syncing",
    "diverged",
    "upgraded",
  ]),
  /**
   * A query the app declares public, asked by anyone: answered in clear and signed by this enclave
   * with the point it reflects (src/protocol/public-answer.ts). `not_public` for any other name; params
   * that are not the canonical JSON of an object, `invalid_argument`.
   */
  publicQuery: returns<PublicQueryResult>()(
    object({
      name: string({ minLength: 1, maxLength: MAX_NAME_BYTES }),
      params: string({ maxLength: MAX_PARAMS_BYTES }),
    }),
    [...SESSION, "not_public", "syncing", "diverged", "upgraded"],
  ),
  /** A piece of a snapshot this enclave produced (`SnapshotOffer`), from `offset`; `not_found` once forgotten. */
  snapshotChunk: returns<SnapshotChunk>()(
    object({
      hash: hex({ min: 32, max: 32 }),
      offset: int({ min: 0, max: MAX_SNAPSHOT_BYTES }),
    }),
    [...SESSION, "not_found"],
  ),
  /**
   * Signs the commitment of a snapshot this enclave produced, for its record nonce (as `keyPackage`):
   * `commitSnapshot(nonce, slot, at, stateDigest, hash, signature)`. Any other hash is `not_found`.
   */
  signSnapshot: returns<{ signature: Hex; slot: string; at: string; stateDigest: Hex }>()(
    object({ nonce: decimal({ bits: 64 }), hash: hex({ min: 32, max: 32 }) }),
    [...SESSION, "not_found"],
  ),
  /**
   * Installs the snapshot of the slot this enclave joined at, given whole or in pieces in order
   * (`offset` of `total` bytes; a piece at offset 0 starts over), with the commitment the chain holds
   * of it (`SnapshotCommitted`: who committed it, with which record nonce, state digest and
   * signature). Checked against the enclave's own view of where it joined, opened with the key of its
   * join epoch, and its state digest must be the one committed; a refusal changes nothing.
   */
  installSnapshot: returns<InstallSnapshotResult>()(
    object({
      bytes: hex({ min: 1, max: SNAPSHOT_CHUNK_BYTES }),
      offset: optional(int({ min: 0, max: MAX_SNAPSHOT_BYTES })),
      total: optional(int({ min: 1, max: MAX_SNAPSHOT_BYTES })),
      commitment: object({
        enclave: hex({ min: 20, max: 20 }),
        nonce: decimal({ bits: 64 }),
        stateDigest: hex({ min: 32, max: 32 }),
        signature: hex({ min: SIGNATURE_WITH_V_BYTES, max: SIGNATURE_WITH_V_BYTES }),
      }),
    }),
    [
      ...SESSION,
      "not_syncing",
      "snapshot_invalid",
      "snapshot_mismatch",
      "cannot_migrate",
      "wrong_domain",
      "diverged",
    ],
  ),
} as const;

/** The call table's type: each call's parameter schema and result. */
export type CallTable = typeof ENCLAVE_CALLS;
export type CallName = keyof CallTable;
export type CallParams<K extends CallName> = Infer<CallTable[K]["params"]>;
export type CallResult<K extends CallName> = CallTable[K] extends CallSpec<infer _P, infer R> ? R : never;

export const isCallName = (name: string): name is CallName => Object.hasOwn(ENCLAVE_CALLS, name);
