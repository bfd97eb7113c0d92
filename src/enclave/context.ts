// What every enclave call works on: the platform and build it runs as, and the session that `init`
// opens (identity, ledger domain, group and ledger state). The pure cores (group-member.ts,
// confidential-ledger.ts) return new values; a call swaps them in only once it has succeeded.
import { bytesToHex, type Hex } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { Divergence, GroupView, PublicIdentity } from "../boundary/call-results.js";
import type { CallName, CallParams, CallResult } from "../boundary/calls.js";
import type { EventCursor } from "../boundary/chain-events.js";
import { EnclaveCallError } from "../boundary/frames.js";
import type { AppIdentity, LedgerDomain } from "../protocol/digests.js";
import type { PolicyKeys } from "../protocol/policy-document.js";
import type { Admission } from "./admission.js";
import { retirementIn } from "./app-upgrade.js";
import type { PieceCache } from "./checkpoint-pieces.js";
import { type LedgerAppState, ledgerSummary } from "./confidential-ledger.js";
import type { GroupMemberState } from "./group-member.js";
import { groupSummary } from "./group-seal.js";
import type { History } from "./history.js";
import type { EnclaveKeys } from "./identity.js";
import type { EnclaveIdentity, EnclavePlatformName, TeePlatform } from "./platform.js";
import type { SignatureCheck } from "./signature-check.js";
import type { SignaturePool } from "./signature-pool.js";

/**
 * What the enclave was built with; it is inside the measured bundle, so changing it changes the
 * measurement. `profile` is a trust root: `production` admits to the group only real platforms
 * (sgx, tdx, nitro) without debug; `development` also the simulated one, whose root key is public.
 * `policyKeys` is a trust root too: the deployment's policy signers (k of n); only documents they
 * signed revoke anyone. Nothing the host sends adds to them.
 */
export type EnclaveConfig = {
  app: string;
  /** SHA-256 of the app's own code bundle, computed at build time (src/build/app-bundle.ts). */
  appCodeHash: Hex;
  /** The platform adapter it runs on (src/enclave/platforms/choose-platform.ts). */
  platform: EnclavePlatformName;
  /**
   * Tests only (`anonify enclave build --emulated-root`, a TEST BUILD): a directory whose tree plays the kernel's for a hardware
   * platform's adapter, which then reads `<emulatedRoot>/sys/kernel/config/tsm/report` or
   * `<emulatedRoot>/dev/attestation`. Measured with the rest, so never a deployment's build.
   */
  emulatedRoot?: string;
  /**
   * Tests only (`anonify enclave build --test-roots`, a TEST BUILD): roots (PEM) pinned in place of the hardware vendors' (`intel`:
   * a test PKI's, src/attestation/dcap/test-pki.ts; `amd`: a test ARK, src/attestation/sev-snp/
   * test-pki.ts), at build time (src/build/pinned-roots.ts).
   * Measured with the rest, so never a deployment's build.
   */
  testRoots?: { intel?: string; amd?: string };
  profile: "production" | "development";
  policyKeys: PolicyKeys;
  signerMeasurement: Hex;
  /** The release this build names (`anonify enclave build --release`), shown in the node's status. */
  version: string;
};

/** The identity of the app this enclave runs: its own name and state version, the code hash built in. */
export const appIdentity = (app: App<StateValue>, config: EnclaveConfig): AppIdentity => ({
  name: app.name,
  codeHash: config.appCodeHash,
  stateVersion: app.stateVersion ?? 1,
});

export type Session = {
  keys: EnclaveKeys;
  identity: PublicIdentity;
  domain: LedgerDomain;
  sealedIdentity: Hex;
  /** The last ledger event applied: the host resumes its follower right after it. */
  cursor: EventCursor | undefined;
  /** The heads and state digests of the last positions applied (history.ts). */
  history: History;
  group: GroupMemberState;
  ledger: LedgerAppState;
  /** Set once this enclave found its history is not the network's: it applies, signs and answers nothing more. */
  diverged: Divergence | undefined;
};

/** Bookkeeping of what the host holds sealed: when the full state was sealed, the journal's order. */
export type CheckpointClock = {
  lastFullSeal: number;
  /** The order of journal records: restore continues after the highest it was given. */
  journalSeq: number;
  /** The hash of the last journal record, which the next one names (journal-chain.ts). */
  journalHead: Hex;
  /** Records since the last snapshot: a new snapshot is due once they outnumber what it would hold. */
  recordsSinceSnapshot: number;
  /** The call that ended the one chance to restore: the restore itself, or the first change of state. */
  restoreClosedBy: CallName | undefined;
  /** What the last full seal held (none yet after a restore): an idle seal is due once the state moved on. */
  sealed: Pick<Session, "group" | "ledger" | "cursor" | "diverged"> | undefined;
};

export type EnclaveContext = {
  readonly platform: TeePlatform;
  readonly measured: EnclaveIdentity;
  readonly config: EnclaveConfig;
  readonly app: App<StateValue>;
  /** The app's identity (`appIdOf`: name, code hash, state version): bound into registration, admitted by members. */
  readonly appId: Hex;
  /** What the state digest names of the app (`appStateOf`: name and state version). */
  readonly appState: Hex;
  /** This enclave's user signature checks, with what it verified before (never shared with another enclave). */
  readonly signatures: SignatureCheck;
  /** Threads of this process that check batches' signatures ahead into `signatures` (none: all inline). */
  readonly signaturePool: SignaturePool | undefined;
  session: Session | undefined;
  readonly checkpoint: CheckpointClock;
  /** The pieces of the last checkpoint sealed or restored (the host holds them): reused while unchanged. */
  pieces: PieceCache;
  /** Signatures of the batches in flight, by ciphertext and point (recomputable, so never sealed). */
  batchSignatures: Map<string, Hex>;
  /** Snapshots this enclave produced, by hash, until its host has read them (never sealed: the host stores them). */
  snapshotBytes: Map<Hex, Uint8Array>;
  /** A snapshot being installed in pieces: the bytes so far. */
  incomingSnapshot: { bytes: Uint8Array; received: number } | undefined;
};

/** The enclave's handler for each call of the table, typed from it. */
export type CallHandlers = {
  [K in CallName]: (params: CallParams<K>) => CallResult<K> | Promise<CallResult<K>>;
};

export function requireSession(context: EnclaveContext): Session {
  if (!context.session) throw new EnclaveCallError("not_initialized", "call init first");
  return context.session;
}

/** The session for a call that may change state: from then on, no sealed state is restored over it. */
export function sessionToChange(context: EnclaveContext, call: CallName): Session {
  const session = requireSession(context);
  context.checkpoint.restoreClosedBy ??= call;
  return session;
}

/**
 * What the enclave (running app `app`) reports of where it stands: cursor, group, ledger, a
 * divergence if it found one, and where its app was upgraded away from if it was (app-upgrade.ts).
 */
export const groupView = (session: Session, app: Hex): GroupView => {
  const upgraded = retirementIn(session.group.registry, app);
  return {
    cursor: session.cursor,
    group: groupSummary(session.group, session.identity.address),
    ledger: ledgerSummary(session.ledger),
    diverged: session.diverged,
    ...(upgraded ? { upgraded } : {}),
  };
};

/**
 * Refuses, by name, a command or query to an enclave whose app a signed policy upgraded away from
 * (app-upgrade.ts): its state stopped at the upgrade position; the network runs the app named.
 */
export function refuseIfRetired(session: Session, app: Hex): void {
  const retired = retirementIn(session.group.registry, app);
  if (retired) throw new EnclaveCallError("upgraded", retired.reason);
}

/** Refuses, by name, a call that would apply, sign or answer from a history that is not the network's. */
export function refuseIfDiverged(session: Session): void {
  const d = session.diverged;
  if (d)
    throw new EnclaveCallError(
      "diverged",
      `this enclave's history is not the network's (event ${d.seq}, ${d.kind}: ${d.reason}); it needs a fresh join`,
    );
}

const MS_PER_SECOND = 1000;

/**
 * What this enclave admits to its group, from its measured build (the profile, its own measurement,
 * the pinned policy keys), judged at `timestamp`: the block time (seconds) of the event being applied,
 * or of the last one applied. Never the enclave's clock, which its host sets: two enclaves fed the
 * same events must reach the same decisions.
 */
export function admissionAt(context: EnclaveContext, timestamp: string | undefined): Admission {
  return {
    profile: context.config.profile,
    measurement: bytesToHex(context.measured.measurement),
    app: context.appId,
    now: new Date(Number(timestamp ?? "0") * MS_PER_SECOND),
    policyKeys: context.config.policyKeys,
  };
}
