/**
 * The MLS (RFC 9420) adapter: the only module that imports ts-mls. Values are immutable and every
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
  type MLSMessage,
  type AuthenticationService as MlsAuthenticationService,
  createCommit as mlsCreateCommit,
  createGroup as mlsCreateGroup,
  decodeGroupState as mlsDecodeGroupState,
  encodeGroupState as mlsEncodeGroupState,
  mlsExporter,
  type PrivateKeyPackage,
  type PrivateMessage,
  type Proposal,
  type ProposalWithSender,
  processPrivateMessage,
  type Welcome,
} from "ts-mls";
// Internal modules, used only to build an Add commit that carries an UpdatePath (see commitWithPath).
import {
  addHistoricalReceiverData,
  applyProposals,
  checkCanSendHandshakeMessages,
  makePskIndex,
  nextEpochContext,
} from "ts-mls/clientState.js";
import { createGroupInfoWithRatchetTree } from "ts-mls/createCommit.js";
import { createConfirmationTag, createContentCommitSignature } from "ts-mls/framedContent.js";
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { initializeEpoch } from "ts-mls/keySchedule.js";
import { protect } from "ts-mls/messageProtection.js";
import { getCommitSecret, pathToPathSecrets } from "ts-mls/pathSecrets.js";
import { mergePrivateKeyPaths, toPrivateKeyPath, updateLeafKey } from "ts-mls/privateKeyPath.js";
import { createSecretTree } from "ts-mls/secretTree.js";
import { treeHashRoot } from "ts-mls/treeHash.js";
import { leafToNodeIndex, leafWidth, toLeafIndex, toNodeIndex } from "ts-mls/treemath.js";
import { createUpdatePath, firstCommonAncestor } from "ts-mls/updatePath.js";
import { encryptGroupInfo, encryptGroupSecrets } from "ts-mls/welcome.js";

export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

/** Keep the receiver keys of one past epoch only: handshakes are ordered on chain, nothing arrives late. */
const RETAIN_EPOCHS = 1;
/** ts-mls defaults for message-key generations inside an epoch; we send no application messages. */
const RETAIN_GENERATIONS = 10;
const MAX_FORWARD_RATCHET_STEPS = 200;

/** First byte of each of our encodings, so a format change is detected instead of misparsed. */
const HANDSHAKE_VERSION = 1;
const STATE_VERSION = 1;
const MEMBER_KEYS_VERSION = 1;
/** Every field of our encodings is prefixed by its length as a big-endian u32. */
const LENGTH_PREFIX_BYTES = 4;
/** Commits go out as PrivateMessage: the chain sees group id, epoch and sizes, not who was added or removed. */
const COMMIT_WIREFORMAT = "mls_private_message";

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Base of every error this module throws on purpose; `cause` keeps the ts-mls error when there is one. */
export class GroupError extends Error {
  override name = "GroupError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The handshake was made in another epoch than the state's: process handshakes in chain order. */
export class EpochMismatch extends GroupError {
  override name = "EpochMismatch";
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super(`handshake is for epoch ${actual}, state is at epoch ${expected}`);
  }
}

/** The handshake belongs to another group. */
export class GroupMismatch extends GroupError {
  override name = "GroupMismatch";
}

/** The AuthenticationService refused a member's credential (e.g. its attestation). */
export class CredentialRejected extends GroupError {
  override name = "CredentialRejected";
  constructor(
    readonly identity: Uint8Array,
    options?: { cause?: unknown },
  ) {
    super("credential rejected by the authentication service", options);
  }
}

/** Handshake bytes that do not parse as our wire format. */
export class MalformedHandshake extends GroupError {
  override name = "MalformedHandshake";
}

/** Key package bytes that do not parse as a TLS-encoded MLSMessage carrying a KeyPackage. */
export class MalformedKeyPackage extends GroupError {
  override name = "MalformedKeyPackage";
}

/** Sealed state or member keys that do not parse. */
export class MalformedState extends GroupError {
  override name = "MalformedState";
}

/** The handshake carries no Welcome secrets for these member keys. */
export class NotForUs extends GroupError {
  override name = "NotForUs";
}

/** This member is not in the group anymore (the handshake removed it, or it was removed earlier). */
export class RemovedFromGroup extends GroupError {
  override name = "RemovedFromGroup";
}

/** ts-mls refused to build the commit (invalid key package, removing oneself or an empty leaf, ...). */
export class InvalidCommit extends GroupError {
  override name = "InvalidCommit";
}

/**
 * The handshake is this member's own commit: MLS cannot process it, the committer adopts the pending
 * state createCommit returned (so seal that state before posting the handshake).
 */
export class OwnCommit extends GroupError {
  override name = "OwnCommit";
}

/**
 * The handshake is refused: by ts-mls (bad signature, confirmation tag, tree, ...) or by our rules (a
 * commit without UpdatePath, a proposal other than Add/Remove, a Welcome that does not match its commit).
 */
export class HandshakeRejected extends GroupError {
  override name = "HandshakeRejected";
}

// ---------------------------------------------------------------------------------------------------------
// Types

/** Decides whether a member may be in the group; `identity` is the Basic credential's bytes (an attestation). */
export type AuthenticationService = {
  validateCredential(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean>;
};

/** The private and public key package of one member, until it joins a group. */
export type MemberKeys = { readonly keyPackage: KeyPackage; readonly privateKeys: PrivateKeyPackage };

/**
 * One member's view of the group at one epoch. Hold and pass it; only this module looks inside (and the
 * group benchmark, which compares against plain ts-mls calls on the same state).
 */
export type GroupState = { readonly mls: ClientState };

/** What both ways of committing (ts-mls's createCommit and commitWithPath) hand back. */
type CommitOutput = { newState: ClientState; commit: MLSMessage; welcome: Welcome | undefined };

export type Member = { readonly leafIndex: number; readonly identity: Uint8Array };

export type CommitRequest = {
  /** TLS-encoded MLSMessage/KeyPackage bytes of the members to add. */
  readonly add?: readonly Uint8Array[];
  /** Leaf indices of the members to remove. */
  readonly remove?: readonly number[];
};

/** Our handshake before encoding: the commit and, when it adds members, their Welcome (both MLSMessage). */
export type HandshakeParts = { readonly commit: Uint8Array; readonly welcome: Uint8Array | undefined };

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
    seen.verdict = judgeCommit(ownLeafIndex(state), incoming.senderLeafIndex, incoming.proposals);
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

/** Why we refuse a commit's proposals, if we do: ours are Adds and Removes only, never by ourselves. */
function judgeCommit(
  ownLeaf: number,
  committer: number | undefined,
  proposals: readonly ProposalWithSender[],
): GroupError | undefined {
  if (committer === ownLeaf)
    return new OwnCommit("this is our own commit: adopt the pending state from createCommit");
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

// ---------------------------------------------------------------------------------------------------------
// Handshake wire format:
//   u8 version (1) | u32 len | commit MLSMessage (PrivateMessage) | u32 len | welcome MLSMessage or empty
// Lengths are big-endian; the bytes must be consumed exactly.

export function encodeHandshake(parts: HandshakeParts): Uint8Array {
  return encodeFrames(HANDSHAKE_VERSION, [parts.commit, parts.welcome ?? new Uint8Array()]);
}

export function decodeHandshake(handshake: Uint8Array): HandshakeParts {
  const fields = decodeFrames(handshake, HANDSHAKE_VERSION, 2, (m) => new MalformedHandshake(m));
  const [commit, welcome] = fields as [Uint8Array, Uint8Array];
  return { commit, welcome: welcome.length === 0 ? undefined : welcome };
}

/** The epoch the handshake's commit was made in, read from the clear PrivateMessage header. */
export function handshakeEpoch(handshake: Uint8Array): bigint {
  return parseHandshake(handshake).commit.epoch;
}

function parseHandshake(handshake: Uint8Array): { commit: PrivateMessage; welcome: Welcome | undefined } {
  const parts = decodeHandshake(handshake);
  const commit = decodeWhole(parts.commit, (b) => decodeMlsMessage(b, 0));
  if (commit?.wireformat !== COMMIT_WIREFORMAT || commit.privateMessage.contentType !== "commit") {
    throw new MalformedHandshake("first field is not a commit PrivateMessage");
  }
  if (parts.welcome === undefined) return { commit: commit.privateMessage, welcome: undefined };
  const welcome = decodeWhole(parts.welcome, (b) => decodeMlsMessage(b, 0));
  if (welcome?.wireformat !== "mls_welcome") throw new MalformedHandshake("second field is not a Welcome");
  return { commit: commit.privateMessage, welcome: welcome.welcome };
}

function encodeFrames(version: number, fields: readonly Uint8Array[]): Uint8Array {
  const total = fields.reduce((n, f) => n + LENGTH_PREFIX_BYTES + f.length, 1);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = version;
  let offset = 1;
  for (const field of fields) {
    view.setUint32(offset, field.length);
    out.set(field, offset + LENGTH_PREFIX_BYTES);
    offset += LENGTH_PREFIX_BYTES + field.length;
  }
  return out;
}

function decodeFrames(
  bytes: Uint8Array,
  version: number,
  count: number,
  fail: (message: string) => GroupError,
): Uint8Array[] {
  if (bytes.length === 0) throw fail("empty");
  if (bytes[0] !== version) throw fail(`unknown version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let offset = 1;
  for (let i = 0; i < count; i++) {
    if (offset + LENGTH_PREFIX_BYTES > bytes.length) throw fail(`truncated before length of field ${i}`);
    const length = view.getUint32(offset);
    offset += LENGTH_PREFIX_BYTES;
    if (length > bytes.length - offset)
      throw fail(`field ${i} claims ${length} bytes, ${bytes.length - offset} left`);
    fields.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.length) throw fail(`${bytes.length - offset} trailing bytes`);
  return fields;
}

/** Runs a ts-mls decoder that must consume all of `bytes`; undefined when it fails or throws. */
function decodeWhole<T>(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => [T, number] | undefined,
): T | undefined {
  try {
    const result = decode(bytes);
    return result !== undefined && result[1] === bytes.length ? result[0] : undefined;
  } catch {
    return undefined;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// ---------------------------------------------------------------------------------------------------------
// Add commit with an UpdatePath

/**
 * ts-mls 1.6.4's createCommit, with the UpdatePath made unconditional: it leaves the path out of add-only
 * commits (RFC 9420 allows that), and then the new epoch reuses the previous one's secrets plus a zero
 * commit secret. Same steps and order as the library; only its unexported welcome helpers are inlined.
 * Our states never hold pending proposals, so only `proposals` (by value) are committed.
 */
async function commitWithPath(
  state: ClientState,
  proposals: Proposal[],
  cs: CiphersuiteImpl,
): Promise<CommitOutput> {
  checkCanSendHandshakeMessages(state);
  const ownLeaf = toLeafIndex(state.privatePath.leafIndex);
  const byValue = proposals.map((proposal) => ({ proposalOrRefType: "proposal" as const, proposal }));
  const applied = await applyProposals(state, byValue, ownLeaf, makePskIndex(state, {}), true, cs);
  if (applied.additionalResult.kind !== "memberCommit") throw new InvalidCommit("not a member commit");
  const added = applied.additionalResult.addedLeafNodes;

  // New members get their path secret through the Welcome, so the path skips them.
  const [tree, updatePath, pathSecrets, leafPrivateKey] = await createUpdatePath(
    applied.tree,
    ownLeaf,
    state.groupContext,
    state.signaturePrivateKey,
    cs,
    added.map(([leaf]) => leafToNodeIndex(leaf)),
  );
  const privatePath = mergePrivateKeyPaths(
    updateLeafKey(state.privatePath, await cs.hpke.exportPrivateKey(leafPrivateKey)),
    await toPrivateKeyPath(pathToPathSecrets(pathSecrets), ownLeaf, cs),
  );
  const lastPathSecret = pathSecrets.at(-1);
  const commitSecret =
    lastPathSecret === undefined
      ? new Uint8Array(cs.kdf.size)
      : await getCommitSecret(tree, toNodeIndex(lastPathSecret.nodeIndex), lastPathSecret.secret, cs.kdf);

  const { signature, framedContent } = await createContentCommitSignature(
    state.groupContext,
    COMMIT_WIREFORMAT,
    { proposals: byValue, path: updatePath },
    { senderType: "member", leafIndex: ownLeaf },
    new Uint8Array(),
    state.signaturePrivateKey,
    cs.signature,
  );
  const groupContext = await nextEpochContext(
    state.groupContext,
    COMMIT_WIREFORMAT,
    framedContent,
    signature,
    await treeHashRoot(tree, cs.hash),
    state.confirmationTag,
    cs.hash,
  );
  const epoch = await initializeEpoch(
    state.keySchedule.initSecret,
    commitSecret,
    groupContext,
    applied.pskSecret,
    cs.kdf,
  );
  const confirmationTag = await createConfirmationTag(
    epoch.keySchedule.confirmationKey,
    groupContext.confirmedTranscriptHash,
    cs.hash,
  );
  const { privateMessage } = await protect(
    state.keySchedule.senderDataSecret,
    new Uint8Array(),
    state.groupContext,
    state.secretTree,
    { ...framedContent, auth: { contentType: "commit", signature, confirmationTag } },
    ownLeaf,
    state.clientConfig.paddingConfig,
    cs,
  );

  const groupInfo = await createGroupInfoWithRatchetTree(groupContext, confirmationTag, state, tree, [], cs);
  const encryptedGroupInfo = await encryptGroupInfo(groupInfo, epoch.welcomeSecret, cs);
  const secrets = await Promise.all(
    added.map(async ([leaf, keyPackage]) => {
      const ancestor = firstCommonAncestor(tree, leaf, ownLeaf);
      const pathSecret = pathSecrets.find((p) => p.nodeIndex === ancestor)?.secret;
      const { enc, ct } = await encryptGroupSecrets(
        await cs.hpke.importPublicKey(keyPackage.initKey),
        encryptedGroupInfo,
        { joinerSecret: epoch.joinerSecret, pathSecret, psks: applied.pskIds },
        cs.hpke,
      );
      return {
        newMember: await makeKeyPackageRef(keyPackage, cs.hash),
        encryptedGroupSecrets: { kemOutput: enc, ciphertext: ct },
      };
    }),
  );
  const welcome: Welcome = { cipherSuite: groupContext.cipherSuite, secrets, encryptedGroupInfo };

  const [historicalReceiverData] = addHistoricalReceiverData(state);
  const newState: ClientState = {
    groupContext,
    ratchetTree: tree,
    secretTree: await createSecretTree(leafWidth(tree.length), epoch.encryptionSecret, cs.kdf),
    keySchedule: epoch.keySchedule,
    privatePath,
    unappliedProposals: {},
    historicalReceiverData,
    confirmationTag,
    signaturePrivateKey: state.signaturePrivateKey,
    groupActiveState: { kind: "active" },
    clientConfig: state.clientConfig,
  };
  const commit: MLSMessage = { version: "mls10", wireformat: COMMIT_WIREFORMAT, privateMessage };
  return { newState, commit, welcome };
}
