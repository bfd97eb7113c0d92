/**
 * The MLS (RFC 9420) adapter's API. src/group/ is the only folder that imports ts-mls: this module,
 * errors.ts, handshake-wire.ts (our byte formats) and commit-path.ts (an Add commit with an UpdatePath). Values are immutable and every
 * function is pure (async only because the crypto is): a function that "changes" a group returns a new
 * state and leaves its argument usable, so a committer whose handshake loses the on-chain
 * compare-and-swap simply drops its pending state and processes the winner from the old one.
 *
 * Secrets the library reports as consumed are not zeroed here: old states stay valid on purpose, and
 * dropping the references is the caller's way of forgetting them.
 */
import {
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type Credential,
  decodeMlsMessage,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type IncomingMessageCallback,
  joinGroup,
  type KeyPackage,
  type AuthenticationService as MlsAuthenticationService,
  createCommit as mlsCreateCommit,
  createGroup as mlsCreateGroup,
  decodeGroupState as mlsDecodeGroupState,
  encodeGroupState as mlsEncodeGroupState,
  mlsExporter,
  type PrivateKeyPackage,
  type Proposal,
  type ProposalWithSender,
  processPrivateMessage,
} from "ts-mls";
// Internal: the reference a Welcome uses to name a key package.
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { type CommitOutput, commitWithPath } from "./commit-path.js";
import {
  CredentialRejected,
  EpochMismatch,
  GroupError,
  GroupMismatch,
  HandshakeRejected,
  InvalidCommit,
  MalformedKeyPackage,
  MalformedState,
  NotForUs,
  OwnCommit,
  RemovedFromGroup,
} from "./errors.js";
import {
  bytesEqual,
  decodeFrames,
  decodeWhole,
  encodeFrames,
  encodeHandshake,
  parseHandshake,
} from "./handshake-wire.js";

export * from "./errors.js";
export { decodeHandshake, encodeHandshake, type HandshakeParts, handshakeEpoch } from "./handshake-wire.js";

export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

/** Keep the receiver keys of one past epoch only: handshakes are ordered on chain, nothing arrives late. */
const RETAIN_EPOCHS = 1;
/** ts-mls defaults for message-key generations inside an epoch; we send no application messages. */
const RETAIN_GENERATIONS = 10;
const MAX_FORWARD_RATCHET_STEPS = 200;

/** First byte of each of our encodings, so a format change is detected instead of misparsed. */
const STATE_VERSION = 1;
const MEMBER_KEYS_VERSION = 1;

// ---------------------------------------------------------------------------------------------------------
// Types

/** Decides whether a member may be in the group; `identity` is the Basic credential's bytes (an attestation). */
export type AuthenticationService = {
  validateCredential(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean>;
  /**
   * Whether a received commit may remove the member with this credential identity (absent: any
   * member may be removed). A commit that removes one it may not is rejected (HandshakeRejected),
   * even when it also removes us.
   */
  validateRemoval?(identity: Uint8Array): boolean;
};

/** The private and public key package of one member, until it joins a group. */
export type MemberKeys = { readonly keyPackage: KeyPackage; readonly privateKeys: PrivateKeyPackage };

/**
 * One member's view of the group at one epoch. Hold and pass it; only this module looks inside (and the
 * group benchmark, which compares against plain ts-mls calls on the same state).
 */
export type GroupState = { readonly mls: ClientState };

export type Member = { readonly leafIndex: number; readonly identity: Uint8Array };

export type CommitRequest = {
  /** TLS-encoded MLSMessage/KeyPackage bytes of the members to add. */
  readonly add?: readonly Uint8Array[];
  /** Leaf indices of the members to remove. */
  readonly remove?: readonly number[];
};

// ---------------------------------------------------------------------------------------------------------
// Configuration

let suite: Promise<CiphersuiteImpl> | undefined;
function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  return suite;
}

/** Fail closed: a state at rest rejects every credential, each call installs the caller's service. */
const rejectAll: MlsAuthenticationService = { validateCredential: async () => false };

const restingConfig: ClientConfig = {
  keyRetentionConfig: {
    retainKeysForEpochs: RETAIN_EPOCHS,
    retainKeysForGenerations: RETAIN_GENERATIONS,
    maximumForwardRatchetSteps: MAX_FORWARD_RATCHET_STEPS,
  },
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: rejectAll,
};

function wrap(client: ClientState): GroupState {
  return Object.freeze({ mls: { ...client, clientConfig: restingConfig } });
}

/**
 * Runs `run` with a ClientConfig whose authService calls `auth`, and turns failures into typed errors:
 * a rejected credential wins over whatever ts-mls then threw (it throws a generic ValidationError).
 */
async function withAuth<T>(
  auth: AuthenticationService,
  run: (config: ClientConfig) => Promise<T>,
  onFailure: (cause: unknown) => GroupError,
): Promise<T> {
  const rejected: { identity: Uint8Array; cause?: unknown }[] = [];
  const authService: MlsAuthenticationService = {
    async validateCredential(credential: Credential, signaturePublicKey: Uint8Array) {
      if (credential.credentialType !== "basic") {
        rejected.push({ identity: new Uint8Array() });
        return false;
      }
      try {
        if (await auth.validateCredential(credential.identity, signaturePublicKey)) return true;
        rejected.push({ identity: credential.identity });
      } catch (cause) {
        rejected.push({ identity: credential.identity, cause });
      }
      return false;
    },
  };
  try {
    return await run({ ...restingConfig, authService });
  } catch (err) {
    const first = rejected[0];
    if (first !== undefined) throw new CredentialRejected(first.identity, { cause: first.cause ?? err });
    if (err instanceof GroupError) throw err;
    throw onFailure(err);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Member keys

export async function generateMemberKeys(
  identity: Uint8Array,
): Promise<{ keys: MemberKeys; keyPackage: Uint8Array }> {
  const cs = await cipherSuite();
  const credential: Credential = { credentialType: "basic", identity: identity.slice() };
  const { publicPackage, privatePackage } = await generateKeyPackage(
    credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    cs,
  );
  const keys: MemberKeys = Object.freeze({ keyPackage: publicPackage, privateKeys: privatePackage });
  return { keys, keyPackage: encodeKeyPackage(publicPackage) };
}

function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage });
}

function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const message = decodeWhole(bytes, (b) => decodeMlsMessage(b, 0));
  if (message?.wireformat !== "mls_key_package")
    throw new MalformedKeyPackage("not an MLSMessage/KeyPackage");
  return message.keyPackage;
}

/** The Basic credential identity inside published key package bytes (to inspect before adding). */
export function keyPackageIdentity(keyPackage: Uint8Array): Uint8Array {
  const credential = decodeKeyPackage(keyPackage).leafNode.credential;
  if (credential.credentialType !== "basic") throw new MalformedKeyPackage("not a Basic credential");
  return credential.identity;
}

/** The signature public key a published key package's leaf will sign with (bound on chain to its enclave). */
export function keyPackageSignatureKey(keyPackage: Uint8Array): Uint8Array {
  return decodeKeyPackage(keyPackage).leafNode.signaturePublicKey;
}

/** Seal-ready bytes of member keys (a member waiting for its Welcome may restart). */
export function encodeMemberKeys(keys: MemberKeys): Uint8Array {
  const { initPrivateKey, hpkePrivateKey, signaturePrivateKey } = keys.privateKeys;
  return encodeFrames(MEMBER_KEYS_VERSION, [
    encodeKeyPackage(keys.keyPackage),
    initPrivateKey,
    hpkePrivateKey,
    signaturePrivateKey,
  ]);
}

export function decodeMemberKeys(bytes: Uint8Array): MemberKeys {
  const fields = decodeFrames(bytes, MEMBER_KEYS_VERSION, 4, (m) => new MalformedState(`member keys: ${m}`));
  const [keyPackage, initPrivateKey, hpkePrivateKey, signaturePrivateKey] = fields as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  return Object.freeze({
    keyPackage: decodeKeyPackage(keyPackage),
    privateKeys: { initPrivateKey, hpkePrivateKey, signaturePrivateKey },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Group lifecycle

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
  const handshake = encodeHandshake({
    commit: encodeMlsMessage(result.commit),
    welcome:
      result.welcome === undefined
        ? undefined
        : encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome }),
  });
  return { handshake, state: wrap(result.newState) };
}

/** Applies a handshake read off the chain; throws EpochMismatch (state untouched) unless it is for our epoch. */
export async function processHandshake(
  state: GroupState,
  handshake: Uint8Array,
  auth: AuthenticationService,
): Promise<GroupState> {
  assertActive(state);
  const { commit } = parseHandshake(handshake);
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
  return wrap(next);
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
  const { commit, welcome } = parseHandshake(handshake);
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
  return wrap(client);
}

// ---------------------------------------------------------------------------------------------------------
// Reading a state

export function epochOf(state: GroupState): bigint {
  return state.mls.groupContext.epoch;
}

export function groupIdOf(state: GroupState): Uint8Array {
  return state.mls.groupContext.groupId;
}

export function ownLeafIndex(state: GroupState): number {
  return state.mls.privatePath.leafIndex;
}

export function membersOf(state: GroupState): Member[] {
  const members: Member[] = [];
  for (const [nodeIndex, node] of state.mls.ratchetTree.entries()) {
    if (node?.nodeType !== "leaf") continue;
    const { credential } = node.leaf;
    // Leaves sit at even node indices: leaf i is node 2i.
    const identity = credential.credentialType === "basic" ? credential.identity : new Uint8Array();
    members.push({ leafIndex: nodeIndex / 2, identity });
  }
  return members;
}

/** The MLS exporter (RFC 9420 §8.5) of the state's epoch. */
export async function exportSecret(
  state: GroupState,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  assertActive(state);
  const cs = await cipherSuite();
  return mlsExporter(state.mls.keySchedule.exporterSecret, label, context, length, cs);
}

function assertActive(state: GroupState): void {
  const kind = state.mls.groupActiveState.kind;
  if (kind === "removedFromGroup") throw new RemovedFromGroup("this member was removed from the group");
  if (kind !== "active") throw new GroupError(`group is not active (${kind})`);
}

function checkRemovals(state: GroupState, removes: readonly number[]): void {
  const members = new Set(membersOf(state).map((m) => m.leafIndex));
  for (const leaf of removes) {
    if (!Number.isSafeInteger(leaf) || !members.has(leaf))
      throw new InvalidCommit(`no member at leaf ${leaf}`);
    if (leaf === ownLeafIndex(state)) throw new InvalidCommit("a member cannot remove itself");
  }
  if (new Set(removes).size !== removes.length) throw new InvalidCommit("duplicate removal");
}

// ---------------------------------------------------------------------------------------------------------
// State sealing

/** Bytes of the whole state (private keys included: seal them). ts-mls's own TLS encoding, versioned. */
export function encodeGroupState(state: GroupState): Uint8Array {
  const body = mlsEncodeGroupState(state.mls);
  const out = new Uint8Array(1 + body.length);
  out[0] = STATE_VERSION;
  out.set(body, 1);
  return out;
}

export function decodeGroupState(bytes: Uint8Array): GroupState {
  if (bytes[0] !== STATE_VERSION) throw new MalformedState("unknown group state version");
  // Copy: the decoded state must not alias a buffer the caller may reuse or wipe.
  const decoded = decodeWhole(bytes.slice(1), (b) => mlsDecodeGroupState(b, 0));
  if (decoded === undefined) throw new MalformedState("group state does not decode");
  return wrap({ ...decoded, clientConfig: restingConfig });
}
