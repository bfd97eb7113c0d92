// The enclave's part in the group: it follows handshakes in chain order, validates every member's
// credential against its registry view, and proposes commits (genesis, adds, removes, rotations).
// A commit that removes a member is void unless this view holds proof for each removed member (its
// signed leave, or a revocation in an applied signed policy: `hasRemovalProof`), and members
// propose removes only with such proof, so a host's forged revocation evicts nobody.
// The contract's epoch counts handshake slots; a handshake that a member must refuse (a rejected
// credential, a commit for another MLS epoch) is void for every member alike, because every member
// decides from the same events in the same order.
// Its keys are derived in group-keys.ts, its proposals made in group-proposal.ts, and its state
// sealed and summarised in group-seal.ts.

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex, hexToBytes, keccak256 } from "viem";
import type { HandshakeRecord } from "../boundary/call-results.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import {
  type AuthenticationService,
  CredentialRejected,
  epochOf,
  GroupError,
  type GroupState,
  generateMemberKeys,
  handshakeEpoch,
  joinFromHandshake,
  keyPackageSignatureKey,
  type MemberKeys,
  membersOf,
  NotForUs,
  processHandshake,
  RemovedFromGroup,
} from "../group/mls.js";
import { type LedgerDomain, memberSetDigest } from "../protocol/digests.js";
import { type Admission, CredentialError, checkCredential } from "./admission.js";
import { digestKeyOf, epochKeyOf } from "./group-keys.js";
import {
  EMPTY_REGISTRY,
  enclaveAddressOf,
  hasRemovalProof,
  type RegistryView,
  updateRegistry,
} from "./registry.js";

export type GroupMemberState = {
  registry: RegistryView;
  /** The contract's epoch: the next handshake slot. */
  slot: bigint;
  memberKeys: MemberKeys | undefined;
  keyPackage: Hex | undefined;
  /**
   * The highest record nonce this enclave signed a key package for: it signs none for a lower one,
   * so that of key packages it held in turn, an older one cannot be published after a newer one.
   */
  keyPackageNonce: bigint | undefined;
  group: GroupState | undefined;
  /**
   * This enclave's latest commits, oldest first, kept after the chain orders them: MLS cannot open a
   * member's own commit, so one that a rollback (a reorganisation) took back past and that the chain
   * orders again is adopted from here, else this enclave would fall out of the group.
   */
  ownCommits: OwnCommit[];
  /** Set when this enclave was removed: it never rejoins with the same keys. */
  removed: boolean;
  /** Whether any handshake ever took effect: after that, nobody creates a group again. */
  genesisDone: boolean;
  lastHandshake: HandshakeRecord | undefined;
  /** The current epoch's batch key; the previous one is wiped when the epoch moves (see applyHandshake). */
  epochKey: Uint8Array | undefined;
  /** The current epoch's key of state digests (ledger-digest.ts); derived, like the batch key, never sealed. */
  digestKey: Uint8Array | undefined;
  /**
   * The enclaves with a published key package that this member's last proposal did not add, by
   * address, with the reason (their credential is refused here): reported, so that a joiner the
   * members refuse is not left waiting without a word. Computed again at every proposal; not sealed.
   */
  declined?: Readonly<Record<string, string>>;
};

/** A commit this enclave made: what it opens, and the epoch it was made in. */
export type OwnCommit = {
  handshakeHash: Hex;
  handshake: Hex;
  slot: bigint;
  state: GroupState;
  /** SHA-256 of the epoch key it was made in; undefined for genesis (made from a group only this enclave held). */
  base: Hex | undefined;
  /** It adds and removes no one (a key rotation), as its signature says. */
  rotation: boolean;
};

/** Own commits kept: more than a reorganisation within the kept checkpoints can take back. */
export const OWN_COMMITS_KEPT = 8;

export const INITIAL_GROUP_STATE: GroupMemberState = {
  registry: EMPTY_REGISTRY,
  slot: 0n,
  memberKeys: undefined,
  keyPackage: undefined,
  keyPackageNonce: undefined,
  group: undefined,
  ownCommits: [],
  removed: false,
  genesisDone: false,
  lastHandshake: undefined,
  epochKey: undefined,
  digestKey: undefined,
};

export class GroupFollowError extends Error {
  override name = "GroupFollowError";
}

export function authFor(
  view: RegistryView,
  domain: LedgerDomain,
  admission: Admission,
): AuthenticationService {
  return {
    validateCredential: async (identity, signaturePublicKey) => {
      try {
        await checkCredential(view, domain, identity, signaturePublicKey, admission);
        return true;
      } catch {
        return false;
      }
    },
    validateRemoval: (identity) => hasRemovalProof(view, identity),
    memberSetDigest: (identities) => hexToBytes(memberSetDigest(identities.map(enclaveAddressOf))),
  };
}

export async function withGroup(
  state: GroupMemberState,
  group: GroupState | undefined,
  domain: LedgerDomain,
): Promise<GroupMemberState> {
  return {
    ...state,
    group,
    epochKey: group ? await epochKeyOf(group, domain) : undefined,
    digestKey: group ? await digestKeyOf(group, domain) : undefined,
  };
}

export const baseOf = (state: GroupMemberState): Hex | undefined =>
  state.epochKey && bytesToHex(sha256(state.epochKey));

/**
 * This enclave's commit for `slot` (with hash `handshakeHash`, if given) made in the epoch the group
 * is in now; a genesis commit only while no handshake has taken effect.
 */
export function ownCommitFor(
  state: GroupMemberState,
  slot: bigint,
  handshakeHash?: Hex,
): OwnCommit | undefined {
  const base = baseOf(state);
  return state.ownCommits.findLast(
    (c) =>
      c.slot === slot &&
      (handshakeHash === undefined || c.handshakeHash === handshakeHash) &&
      (c.base === undefined ? !state.genesisDone : c.base === base),
  );
}

/** The state's own commits with `more` (a newer sealed state's): each once, the newest OWN_COMMITS_KEPT by slot. */
export function withOwnCommits(state: GroupMemberState, more: readonly OwnCommit[]): GroupMemberState {
  const known = new Set(state.ownCommits.map((c) => c.handshakeHash));
  const ownCommits = [...state.ownCommits, ...more.filter((c) => !known.has(c.handshakeHash))]
    .sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0))
    .slice(-OWN_COMMITS_KEPT);
  return { ...state, ownCommits };
}

/** The state with `declined` as judged by a proposal (none judged: as it was); the same state when nothing changed. */
export function withDeclined(
  state: GroupMemberState,
  declined: Readonly<Record<string, string>> | undefined,
): GroupMemberState {
  if (declined === undefined) return state;
  const before = state.declined ?? {};
  const entries = Object.entries(declined);
  const same =
    entries.length === Object.keys(before).length &&
    entries.every(([address, reason]) => before[address] === reason);
  return same ? state : { ...state, declined };
}

/** Makes this enclave's MLS keys (once) and returns the key package to publish on chain. */
export async function ensureKeyPackage(state: GroupMemberState, address: Hex): Promise<GroupMemberState> {
  if (state.memberKeys && state.keyPackage) return state;
  const { keys, keyPackage } = await generateMemberKeys(hexToBytes(address));
  return { ...state, memberKeys: keys, keyPackage: bytesToHex(keyPackage) };
}

/** Whether two group states hold the same members (by enclave address); none and none are the same. */
function sameMembers(a: GroupState | undefined, b: GroupState | undefined): boolean {
  const of = (g: GroupState | undefined) =>
    g
      ? membersOf(g)
          .map((m) => enclaveAddressOf(m.identity))
          .sort()
          .join()
      : "";
  return of(a) === of(b);
}

export async function applyGroupEvent(
  state: GroupMemberState,
  event: LedgerEvent,
  self: Hex,
  domain: LedgerDomain,
  admission: Admission,
): Promise<GroupMemberState> {
  if (event.kind !== "HandshakeCommitted") {
    const mlsKeyOf = (kp: Hex) => {
      try {
        return bytesToHex(keyPackageSignatureKey(hexToBytes(kp)));
      } catch {
        return undefined;
      }
    };
    const registry = await updateRegistry(state.registry, event, domain, mlsKeyOf, admission.policyKeys);
    return registry === state.registry ? state : { ...state, registry };
  }
  const slot = BigInt(event.epoch);
  if (slot !== state.slot)
    throw new GroupFollowError(
      `handshake for slot ${slot} arrived while at slot ${state.slot}: the host skipped or replayed one`,
    );
  const next = { ...state, slot: slot + 1n };
  const record = (outcome: string, mlsEpoch?: bigint): HandshakeRecord => ({
    slot: slot.toString(),
    mlsEpoch: mlsEpoch?.toString(),
    enclave: event.enclave,
    block: event.block,
    outcome,
  });
  const bytes = hexToBytes(event.handshake);
  let mlsEpoch: bigint;
  try {
    mlsEpoch = handshakeEpoch(bytes);
  } catch {
    return { ...next, lastHandshake: record("void: malformed handshake") };
  }
  // A commit whose signed rotation flag is not what it does is void for every member alike: the
  // contract limits rotations by that flag, so a host cannot pass a rotation off as an add.
  const flagWrong = (before: GroupState | undefined, after: GroupState | undefined) =>
    event.rotation !== sameMembers(before, after)
      ? record(
          `void: flagged ${event.rotation ? "a rotation" : "a membership change"}, it is ${event.rotation ? "a membership change" : "a rotation"}`,
          mlsEpoch,
        )
      : undefined;
  const own = ownCommitFor(state, slot, keccak256(event.handshake));
  if (own) {
    const refused = await refusedByReceivers(state, own.state, self, domain, admission);
    if (refused) return { ...next, lastHandshake: record(`void: ${refused}`, mlsEpoch) };
    const wrong = flagWrong(state.group, own.state);
    if (wrong) return { ...next, lastHandshake: wrong };
    return {
      ...(await withGroup(next, own.state, domain)),
      genesisDone: true,
      lastHandshake: record("applied (own commit)", mlsEpoch),
    };
  }
  const auth = authFor(state.registry, domain, admission);

  if (state.group) {
    const current = epochOf(state.group);
    if (mlsEpoch !== current) {
      return {
        ...next,
        lastHandshake: record(`void: commit for MLS epoch ${mlsEpoch}, group is at ${current}`, mlsEpoch),
      };
    }
    try {
      const group = await processHandshake(state.group, bytes, auth);
      const wrong = flagWrong(state.group, group);
      if (wrong) return { ...next, lastHandshake: wrong };
      return {
        ...(await withGroup(next, group, domain)),
        genesisDone: true,
        lastHandshake: record("applied", mlsEpoch),
      };
    } catch (error) {
      if (error instanceof RemovedFromGroup) {
        if (event.rotation)
          return {
            ...next,
            lastHandshake: record("void: flagged a rotation, it is a membership change", mlsEpoch),
          };
        return {
          ...(await withGroup(next, undefined, domain)),
          removed: true,
          genesisDone: true,
          lastHandshake: record("removed from the group", mlsEpoch),
        };
      }
      if (error instanceof GroupError) {
        return {
          ...next,
          lastHandshake: record(`void: ${error.name}: ${error.message}`, mlsEpoch),
        };
      }
      throw error;
    }
  }
  // Not a member (yet): a handshake may carry our Welcome (never a rotation's: that is void).
  if (state.memberKeys && !state.removed && !event.rotation) {
    try {
      const group = await joinFromHandshake(bytes, state.memberKeys, auth);
      return {
        ...(await withGroup(next, group, domain)),
        genesisDone: true,
        lastHandshake: record("joined", mlsEpoch),
      };
    } catch (error) {
      if (
        !(error instanceof NotForUs) &&
        !(error instanceof CredentialRejected) &&
        !(error instanceof GroupError)
      )
        throw error;
    }
  }
  // Someone else's handshake: the group exists; whether it took effect for its members we cannot
  // tell without being one, so genesis is settled once any handshake is ordered.
  void self;
  return { ...next, genesisDone: true, lastHandshake: record("observed (not a member)", mlsEpoch) };
}

/**
 * Why the other members would void this enclave's own commit now that the chain ordered it, if they
 * would: they judge each credential it brings (every member it adds, and the committer's own leaf,
 * which its UpdatePath re-signs) at the handshake's block time. This enclave proposed it judging them
 * at the time of the last event it had read, which may be earlier: it judges them again here, the
 * same way, so that it never adopts a commit the others void.
 */
async function refusedByReceivers(
  state: GroupMemberState,
  committed: GroupState,
  self: Hex,
  domain: LedgerDomain,
  admission: Admission,
): Promise<string | undefined> {
  const before = new Set(state.group ? membersOf(state.group).map((m) => enclaveAddressOf(m.identity)) : []);
  const judged = membersOf(committed).filter((m) => {
    const address = enclaveAddressOf(m.identity);
    return address === self.toLowerCase() || !before.has(address);
  });
  for (const member of judged) {
    try {
      await checkCredential(state.registry, domain, member.identity, member.signatureKey, admission);
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      return `credential of ${enclaveAddressOf(member.identity)} refused: ${error.message}`;
    }
  }
  return undefined;
}
