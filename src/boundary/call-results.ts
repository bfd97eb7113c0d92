// What the enclave's calls answer (calls.ts names each call's result type): plain JSON as it crosses,
// hex strings, decimal strings for 64-bit and larger integers, numbers for small ones.
import type { Hex } from "viem";
import type { CommandStatus } from "../protocol/receipts.js";
import type { EventCursor } from "./chain-events.js";

/**
 * A command's state; the receipt, once ordered, is sealed to the sender's response key. `block`: the
 * block of the batch that ordered it (public: the sequence names that batch on chain anyway).
 */
export type CommandStatusAnswer = {
  id: Hex;
  status: CommandStatus;
  sequence?: string;
  block?: string;
  receipt?: Hex;
};

export type HandshakeRecord = {
  slot: string;
  mlsEpoch: string | undefined;
  enclave: Hex;
  block: string;
  outcome: string;
};

/** What the enclave reports of its group: public, or a fingerprint of what is not. */
export type GroupSummary = {
  keyPackagePublished: boolean;
  slot: string;
  epoch: string | undefined;
  member: boolean;
  removed: boolean;
  members: Hex[];
  epochKeyFingerprint: Hex | undefined;
  lastHandshake: HandshakeRecord | undefined;
  pending: boolean;
  /**
   * Enclaves that published a key package which this member does not add, and why (their
   * credential is refused here), as of its last proposal; none outside the group.
   */
  declined: { enclave: Hex; reason: string }[];
  /** The version of the signed policy document applied (none: 0), and what became of the last one published. */
  policyVersion: string;
  lastPolicyEvent?: { block: string; logIndex: number; version?: string; outcome: string };
  /** The DCAP collateral sets held (public: Intel publishes them), and what became of the last one published. */
  collateral: CollateralSummary[];
  lastCollateralEvent?: { block: string; logIndex: number; key?: string; outcome: string };
};

export type CollateralSummary = {
  key: string;
  platform: string;
  /** Intel's collateral: the FMSPC it judges; AMD's CRLs: the product (Milan, Genoa, Turin). */
  fmspc?: string;
  product?: string;
  tcbEvaluationDataNumber?: number;
  nextUpdate: string;
};

/** Counts only: a digest of a small confidential state could be brute-forced. */
export type LedgerSummary = {
  sequence: string;
  batches: string;
  queued: number;
  inFlight: number;
  batchesInFlight: number;
  skippedBatches: string;
  /**
   * Set while the enclave waits for the state snapshot of the slot it joined at (in `block`, at
   * `sequence`): it answers no command or query and applies no batch until one is installed.
   */
  syncing: { slot: string; block: string; at: string; sequence: string } | undefined;
};

/** A sealed journal record as the host keeps it: in clear only its order and kind. */
export type JournalEntry = { seq: number; kind: "snapshot" | "accepted" | "batched"; sealed: Hex };

/**
 * `submitCommand`: the accepted command's id (its digest) and its journal record; or, for a command
 * this enclave took before (the same digest: a client resending after its answer was lost), the same
 * id, where the command stands (`repeated`) and no record: nothing changed. The host sees the id
 * in both, and the status it could ask by id anyway.
 */
export type SubmitResult =
  | { id: Hex; journal: JournalEntry; repeated?: undefined }
  | { id: Hex; journal?: undefined; repeated: CommandStatus };

export type PublicIdentity = { address: Hex; hpkePublicKey: Hex };

/** The app an enclave runs, as the group knows it: its identity and the word it registers with. */
export type AppSummary = { name: string; codeHash: Hex; stateVersion: number; id: Hex };

export type StatusResult = {
  boundaryVersion: number;
  platform: string;
  app: AppSummary;
  measurement: Hex;
  signerMeasurement: Hex;
  /** The release the build names (measured with it): which build a node runs, for its operator. */
  release: string;
  address: Hex | undefined;
};

export type InitResult = PublicIdentity & {
  sealedIdentity: Hex;
  /**
   * Why a new identity was made instead of unsealing one, if one was made: none was kept, it was
   * sealed by another measurement, or the platform's sealing does not outlive a process (TDX, SEV-SNP).
   */
  created: "first-start" | "measurement-changed" | "platform-cannot-seal" | undefined;
};

/**
 * Why an enclave stopped: the event that showed its history is not the network's (a signed output
 * of another enclave that does not verify against this enclave's history, a state digest that is not
 * its own, a member's batch it cannot open), and the two digests where digests differed.
 */
export type Divergence = { seq: string; kind: string; reason: string; ours?: Hex; theirs?: Hex };

export type GroupView = {
  cursor: EventCursor | undefined;
  group: GroupSummary;
  ledger: LedgerSummary;
  diverged: Divergence | undefined;
  /**
   * Set once a signed policy upgraded the network's app away from this enclave's (src/enclave/app-upgrade.ts):
   * where, to which app, and what to do. It applies no command from there on; it is not a divergence.
   */
  upgraded?: { seq: string; to: Hex; reason: string };
};

/**
 * A state snapshot this enclave produced while applying a handshake that added members (every
 * complete member produces the same bytes): the host reads it with `snapshotChunk`, stores it by
 * hash and serves it; `commit`: this enclave committed the handshake, so its host commits the hash
 * on chain (`signSnapshot`, `commitSnapshot`). `block`: the handshake's block.
 */
export type SnapshotOffer = {
  slot: string;
  /** The handshake's position in the event sequence, and the state digest there. */
  at: string;
  stateDigest: Hex;
  sequence: string;
  block: string;
  hash: Hex;
  size: number;
  commit: boolean;
};

/**
 * A batch's public outputs record, signed by this enclave (it submitted the batch): the host publishes
 * it (`publishOutputs(batch, seq, outputs, signature)`, src/protocol/public-outputs.ts).
 */
export type OutputsRecord = { batch: string; seq: string; outputs: Hex; signature: Hex };

/** `checkOutputs`' answer: how many records it checked, and the divergence one showed, if any. */
export type CheckOutputsResult = {
  checked: number;
  diverged: Divergence | undefined;
  sealedState: Hex | undefined;
};

/** `resumeSession`: where the enclave stands, its whole checkpoint and a journal snapshot. */
export type ResumedSession = GroupView & { sealedState: Hex; journal: JournalEntry };

export type ApplyResult = GroupView & {
  applied: number;
  /**
   * The enclave stopped before a batch it cannot apply yet (it is syncing): the events from that
   * batch on were not applied, and are to be sent again once a snapshot is installed.
   */
  blocked: boolean;
  snapshots: SnapshotOffer[];
  /** Public outputs records of the batches this enclave submitted and just applied (none: none). */
  outputs?: OutputsRecord[];
  /** The commands accepted here that this apply ordered ("unknown": the enclave holds nothing of it). */
  settled: (CommandStatusAnswer | { id: Hex; status: "unknown" })[];
  sealedState: Hex | undefined;
};

/** `baseSeq`: the point of the event sequence the commit was made at, which its signature names. */
export type HandshakeProposal = { group: GroupSummary; sealedState: Hex | undefined } & (
  | { handshake: null }
  | {
      handshake: Hex;
      epoch: string;
      /** The commit changes no membership (a key rotation): the contract limits how often. */
      rotation: boolean;
      baseSeq: string;
      signature: Hex;
    }
);

/**
 * A batch to submit, signed for the contract at point `baseSeq` with the enclave's state digest there;
 * `ciphertext` is left out when the host named it known.
 */
export type BatchOffer = {
  epoch: string;
  nonce: string;
  ciphertext: Hex | undefined;
  count: number;
  enclave: Hex;
  baseSeq: string;
  stateDigest: Hex;
  signature: Hex;
};

export type SealBatchResult = {
  batches: BatchOffer[];
  queued: number;
  journal: JournalEntry | undefined;
  /** Why nothing can be batched, when nothing can. */
  reason: string | undefined;
};

/**
 * A public query's answer as it crosses: the outcome's canonical bytes, the point it reflects (64-bit
 * numbers as decimal strings) and the enclave's signature over both (src/protocol/public-answer.ts).
 */
export type PublicQueryResult = {
  outcome: Hex;
  at: { seq: string; head: Hex; block: string; digest?: Hex };
  signature: Hex;
};

export type SnapshotChunk = { bytes: Hex; total: number };

export type InstallSnapshotResult = {
  /** Whether the snapshot is installed (all its bytes were given, and it was accepted). */
  installed: boolean;
  received: number;
  ledger: LedgerSummary;
};
