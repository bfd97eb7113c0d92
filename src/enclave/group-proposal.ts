// What a member proposes to commit now: the genesis, adds of the key packages published, removes
// each backed by proof (a signed leave or an applied policy's revocation), or a rotation.
import { bytesToHex, type Hex, hexToBytes, keccak256 } from "viem";
import {
  CredentialRejected,
  createCommit,
  createGroup,
  EpochMismatch,
  keyPackageIdentity,
  keyPackageSignatureKey,
  membersOf,
  ownLeafIndex,
} from "../group/mls.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { type Admission, checkCredential } from "./admission.js";
import { groupIdFor } from "./group-keys.js";
import {
  authFor,
  baseOf,
  type GroupMemberState,
  type OwnCommit,
  ownCommitFor,
  withGroup,
  withOwnCommits,
} from "./group-member.js";
import { enclaveAddressOf, hasRemovalProof } from "./registry.js";

export type Proposal = { state: GroupMemberState; handshake: Uint8Array; slot: bigint } | undefined;

/** What this enclave would commit now: genesis, adds of published key packages, removes, rotation. */
export async function proposeCommit(
  state: GroupMemberState,
  self: Hex,
  domain: LedgerDomain,
  rotate: boolean,
  admission: Admission,
): Promise<{
  state: GroupMemberState;
  handshake?: Uint8Array;
  rotation?: boolean;
  /** Published key packages not added, by enclave, and why (`GroupMemberState.declined`); absent when not judged. */
  declined?: Record<string, string>;
}> {
  let current = state;
  const me = state.registry.enclaves[self.toLowerCase()];
  if (me?.state !== "active") return { state: current };
  // A commit already offered for this slot is offered again until the chain orders this slot:
  // a second commit from the same epoch would orphan the first, should the first land.
  const offered = ownCommitFor(current, current.slot);
  if (offered)
    return { state: current, handshake: hexToBytes(offered.handshake), rotation: offered.rotation };
  if (!current.group) {
    if (current.removed || !current.memberKeys || current.genesisDone) return { state: current };
    // Genesis: the first registered enclave that is active and has published its key package.
    const first = Object.entries(current.registry.enclaves)
      .filter(([, r]) => r.state === "active" && r.keyPackage)
      .sort(([, a], [, b]) => a.order - b.order)[0];
    if (!first || first[0] !== self.toLowerCase() || !me.keyPackage) return { state: current };
    const group = await createGroup(groupIdFor(domain), current.memberKeys);
    current = await withGroup(current, group, domain);
  }
  const group = current.group!;
  const members = membersOf(group);
  const memberAddresses = new Set(members.map((m) => enclaveAddressOf(m.identity)));
  const auth = authFor(current.registry, domain, admission);
  const add: Uint8Array[] = [];
  const declined: Record<string, string> = {};
  for (const [address, record] of Object.entries(current.registry.enclaves)) {
    if (record.state !== "active" || !record.keyPackage || memberAddresses.has(address as Hex)) continue;
    const keyPackage = hexToBytes(record.keyPackage);
    // Checked here first so that a bad credential is never proposed; why is reported, not swallowed:
    // the joiner would otherwise wait as not_member with nothing anywhere saying why.
    try {
      await checkCredential(
        current.registry,
        domain,
        keyPackageIdentity(keyPackage),
        keyPackageSignatureKey(keyPackage),
        admission,
      );
    } catch (error) {
      declined[address] = error instanceof Error ? error.message : String(error);
      continue;
    }
    add.push(keyPackage);
  }
  const remove = members
    .filter((m) => m.leafIndex !== ownLeafIndex(group))
    .filter((m) => hasRemovalProof(current.registry, m.identity))
    .map((m) => m.leafIndex);
  if (add.length === 0 && remove.length === 0 && !rotate) return { state: current, declined };
  try {
    const commit = await createCommit(group, { add, remove }, auth);
    const made: OwnCommit = {
      handshakeHash: keccak256(commit.handshake),
      handshake: bytesToHex(commit.handshake),
      slot: current.slot,
      state: commit.state,
      // Genesis: the group was made just now, from nothing the chain holds.
      base: state.group ? baseOf(current) : undefined,
      rotation: add.length === 0 && remove.length === 0,
    };
    return {
      state: withOwnCommits(current, [made]),
      handshake: commit.handshake,
      rotation: made.rotation,
      declined,
    };
  } catch (error) {
    if (error instanceof CredentialRejected || error instanceof EpochMismatch)
      return { state: current, declined };
    throw error;
  }
}
