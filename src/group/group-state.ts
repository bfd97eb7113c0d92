// Reading a group state (epoch, members, the exporter secret) and sealing it as our own versioned
// encoding.
import {
  decodeGroupState as mlsDecodeGroupState,
  encodeGroupState as mlsEncodeGroupState,
  mlsExporter,
} from "ts-mls";
import { cipherSuite, restingConfig, wrap } from "./client-config.js";
import { GroupError, InvalidCommit, MalformedState, RemovedFromGroup } from "./errors.js";
import { decodeWhole } from "./handshake-wire.js";
import type { GroupState, Member } from "./types.js";

/** First byte of our encoding, so a format change is detected instead of misparsed. */
const STATE_VERSION = 1;

export function epochOf(state: GroupState): bigint {
  return state.mls.groupContext.epoch;
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
    members.push({ leafIndex: nodeIndex / 2, identity, signatureKey: node.leaf.signaturePublicKey });
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

export function assertActive(state: GroupState): void {
  const kind = state.mls.groupActiveState.kind;
  if (kind === "removedFromGroup") throw new RemovedFromGroup("this member was removed from the group");
  if (kind !== "active") throw new GroupError(`group is not active (${kind})`);
}

export function checkRemovals(state: GroupState, removes: readonly number[]): void {
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
