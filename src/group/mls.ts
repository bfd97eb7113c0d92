/**
 * The MLS (RFC 9420) adapter's API: the group's lifecycle (create, commit, process, join) here, and
 * the rest re-exported from the modules beside it, by what they serve: types.ts, client-config.ts
 * (how ts-mls runs), member-keys.ts, group-state.ts (reading and sealing a state), handshake-wire.ts
 * (our byte formats), commit-path.ts (an Add commit with an UpdatePath), errors.ts. src/group/ is the
 * only folder that imports ts-mls; everything else imports this module. Values are immutable and every
 * function is pure (async only because the crypto is): a function that "changes" a group returns a new
 * state and leaves its argument usable, so a committer whose handshake loses the on-chain
 * compare-and-swap simply drops its pending state and processes the winner from the old one.
 *
 * Secrets the library reports as consumed are not zeroed here: old states stay valid on purpose, and
 * dropping the references is the caller's way of forgetting them.
 */
import {
  type ClientState,
  emptyPskIndex,
  encodeMlsMessage,
  type IncomingMessageCallback,
  joinGroup,
  createCommit as mlsCreateCommit,
  createGroup as mlsCreateGroup,
  type Proposal,
  type ProposalWithSender,
  processPrivateMessage,
} from "ts-mls";
// Internal: the reference a Welcome uses to name a key package.
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { cipherSuite, restingConfig, withAuth, wrap } from "./client-config.js";
import { type CommitOutput, commitWithPath } from "./commit-path.js";
import {
  EpochMismatch,
  type GroupError,
  GroupMismatch,
  HandshakeRejected,
  InvalidCommit,
  NotForUs,
  OwnCommit,
  RemovedFromGroup,
} from "./errors.js";

import { assertActive, checkRemovals, epochOf, membersOf, ownLeafIndex } from "./group-state.js";
import { encodeHandshake } from "./handshake-frames.js";
import { bytesEqual, parseHandshake } from "./handshake-wire.js";
import { decodeKeyPackage } from "./member-keys.js";
import type { AuthenticationService, CommitRequest, GroupState, MemberKeys } from "./types.js";

export { CIPHERSUITE } from "./client-config.js";
export * from "./errors.js";
export * from "./group-state.js";
export { decodeHandshake, encodeHandshake, type HandshakeParts } from "./handshake-frames.js";
export { handshakeEpoch } from "./handshake-wire.js";
export * from "./member-keys.js";
export type * from "./types.js";

/** A group with one member (`keys`), at epoch 0. */
export async function createGroup(groupId: Uint8Array, keys: MemberKeys): Promise<GroupState> {
  const cs = await cipherSuite();
  const client = await mlsCreateGroup(
    groupId.slice(),
    keys.keyPackage,
    keys.privateKeys,
    [],
    cs,
    restingConfig,
  );
  return wrap(client);
}

/**
 * A commit for the state's epoch, always with an UpdatePath so the next epoch has fresh secrets; an empty
 * request is the key rotation. Returns the handshake to post and the pending next state, which the caller
 * adopts only if the chain accepts the handshake.
 */
export async function createCommit(
  state: GroupState,
  request: CommitRequest,
  auth: AuthenticationService,
): Promise<{ handshake: Uint8Array; state: GroupState }> {
  assertActive(state);
  const adds = (request.add ?? []).map(decodeKeyPackage);
  const removes = request.remove ?? [];
  checkRemovals(state, removes);
  const proposals: Proposal[] = [
    ...removes.map((removed): Proposal => ({ proposalType: "remove", remove: { removed } })),
    ...adds.map((keyPackage): Proposal => ({ proposalType: "add", add: { keyPackage } })),
  ];
  const cs = await cipherSuite();
  const result = await withAuth(
    auth,
    (clientConfig): Promise<CommitOutput> => {
      const client = { ...state.mls, clientConfig };
      // ts-mls adds an UpdatePath by itself to empty commits and to commits with removes, not to add-only ones.
      if (adds.length > 0 && removes.length === 0) return commitWithPath(client, proposals, cs);
      // It signs a GroupInfo even without a Welcome: put the (large) tree in it only when someone joins.
      const ratchetTreeExtension = adds.length > 0;
      return mlsCreateCommit(
        { state: client, cipherSuite: cs },
        { extraProposals: proposals, ratchetTreeExtension },
      );
    },
    (cause) => new InvalidCommit("ts-mls could not create the commit", { cause }),
  );
  const next = wrap(result.newState);
  const handshake = encodeHandshake({
    commit: encodeMlsMessage(result.commit),
    welcome:
      result.welcome === undefined
        ? undefined
        : encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome }),
    memberSet: auth.memberSetDigest?.(membersOf(next).map((m) => m.identity)),
  });
  return { handshake, state: next };
}

/** Applies a handshake read off the chain; throws EpochMismatch (state untouched) unless it is for our epoch. */
export async function processHandshake(
  state: GroupState,
  handshake: Uint8Array,
  auth: AuthenticationService,
): Promise<GroupState> {
  assertActive(state);
  const { commit, memberSet } = parseHandshake(handshake);
  if (!bytesEqual(commit.groupId, state.mls.groupContext.groupId)) {
    throw new GroupMismatch("handshake is for another group");
  }
  const epoch = epochOf(state);
  if (commit.epoch !== epoch) throw new EpochMismatch(epoch, commit.epoch);
  const cs = await cipherSuite();
  const seen = { verdict: undefined as GroupError | undefined, committer: undefined as number | undefined };
  // ts-mls calls this once the commit is authenticated and its proposals validated, before the path.
  const inspect: IncomingMessageCallback = (incoming) => {
    if (incoming.kind !== "commit") return "reject";
    seen.committer = incoming.senderLeafIndex;
    const mayRemove = (leaf: number) => {
      if (!auth.validateRemoval) return true;
      const credential = leafAt(state.mls, leaf)?.credential;
      return credential?.credentialType === "basic" && auth.validateRemoval(credential.identity);
    };
    seen.verdict = judgeCommit(ownLeafIndex(state), incoming.senderLeafIndex, incoming.proposals, mayRemove);
    return seen.verdict === undefined ? "accept" : "reject";
  };
  const result = await withAuth(
    auth,
    (clientConfig) =>
      processPrivateMessage({ ...state.mls, clientConfig }, commit, emptyPskIndex, cs, inspect),
    (cause) => new HandshakeRejected("ts-mls rejected the handshake", { cause }),
  );
  if (seen.verdict !== undefined) throw seen.verdict;
  if (result.kind !== "newState" || result.actionTaken !== "accept" || seen.committer === undefined) {
    throw new HandshakeRejected("handshake is not a member's commit");
  }
  const next = result.newState;
  if (next.groupActiveState.kind !== "active" || next.groupContext.epoch !== epoch + 1n) {
    throw new HandshakeRejected("handshake did not open the next epoch");
  }
  // An UpdatePath always re-keys the committer's leaf; the same key means the commit had no path.
  const before = leafAt(state.mls, seen.committer)?.hpkePublicKey;
  const after = leafAt(next, seen.committer)?.hpkePublicKey;
  if (before === undefined || after === undefined || bytesEqual(before, after)) {
    throw new HandshakeRejected("commit carries no UpdatePath");
  }
  return checkedMemberSet(wrap(next), memberSet, auth);
}

/** `made`, if the member set the handshake names is the one its commit made (as `auth` digests it). */
function checkedMemberSet(
  made: GroupState,
  named: Uint8Array | undefined,
  auth: AuthenticationService,
): GroupState {
  if (!auth.memberSetDigest) return made;
  const actual = auth.memberSetDigest(membersOf(made).map((m) => m.identity));
  if (named === undefined || !bytesEqual(named, actual))
    throw new HandshakeRejected("the handshake names another member set than its commit makes");
  return made;
}

/**
 * Why we refuse a commit's proposals, if we do: ours are Adds and Removes only, never by ourselves,
 * and every Remove must be one `mayRemove` allows. That is judged for all Removes before our own
 * removal counts, so every receiver reaches one verdict on the commit.
 */
function judgeCommit(
  ownLeaf: number,
  committer: number | undefined,
  proposals: readonly ProposalWithSender[],
  mayRemove: (leaf: number) => boolean,
): GroupError | undefined {
  if (committer === ownLeaf)
    return new OwnCommit("this is our own commit: adopt the pending state from createCommit");
  for (const { proposal } of proposals) {
    if (proposal.proposalType === "remove" && !mayRemove(proposal.remove.removed)) {
      return new HandshakeRejected(`commit removes member ${proposal.remove.removed} without proof`);
    }
  }
  for (const { proposal } of proposals) {
    // Checked here because ts-mls misses a removal when an Add of the same commit refills the leaf.
    if (proposal.proposalType === "remove" && proposal.remove.removed === ownLeaf) {
      return new RemovedFromGroup("this handshake removes us from the group");
    }
    if (proposal.proposalType !== "add" && proposal.proposalType !== "remove") {
      return new HandshakeRejected(`unexpected ${String(proposal.proposalType)} proposal`);
    }
  }
  return undefined;
}

function leafAt(client: ClientState, leafIndex: number) {
  const node = client.ratchetTree[2 * leafIndex];
  return node?.nodeType === "leaf" ? node.leaf : undefined;
}

/** Joins from a handshake whose Welcome adds `keys`; the Welcome carries the ratchet tree. */
export async function joinFromHandshake(
  handshake: Uint8Array,
  keys: MemberKeys,
  auth: AuthenticationService,
): Promise<GroupState> {
  const { commit, welcome, memberSet } = parseHandshake(handshake);
  if (welcome === undefined) throw new NotForUs("handshake carries no Welcome");
  const cs = await cipherSuite();
  const ref = await makeKeyPackageRef(keys.keyPackage, cs.hash);
  if (!welcome.secrets.some((s) => bytesEqual(s.newMember, ref))) {
    throw new NotForUs("Welcome has no secrets for these keys");
  }
  const client = await withAuth(
    auth,
    (clientConfig) =>
      joinGroup(
        welcome,
        keys.keyPackage,
        keys.privateKeys,
        emptyPskIndex,
        cs,
        undefined,
        undefined,
        clientConfig,
      ),
    (cause) => new HandshakeRejected("ts-mls could not join from the Welcome", { cause }),
  );
  // The Welcome must open the epoch its own commit creates, in the commit's group.
  const joined = client.groupContext;
  if (joined.epoch !== commit.epoch + 1n || !bytesEqual(joined.groupId, commit.groupId)) {
    throw new HandshakeRejected("Welcome does not match the commit it came with");
  }
  return checkedMemberSet(wrap(client), memberSet, auth);
}
