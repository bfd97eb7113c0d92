// The group state as sealed and restored, and what an enclave reports of it (public, or a
// fingerprint of what is not).
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { GroupSummary } from "../boundary/call-results.js";
import {
  decodeGroupState,
  decodeMemberKeys,
  encodeGroupState,
  encodeMemberKeys,
  epochOf,
  membersOf,
} from "../group/mls.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { digestKeyOf, epochKeyOf, keyFingerprint } from "./group-keys.js";
import { type GroupMemberState, type OwnCommit, ownCommitFor } from "./group-member.js";
import { enclaveAddressOf } from "./registry.js";

/** The group state as sealed: the MLS objects as bytes, no epoch keys (they are derived again on restore). */
export type SealedGroup = Omit<
  GroupMemberState,
  "memberKeys" | "group" | "ownCommits" | "epochKey" | "digestKey" | "declined"
> & {
  memberKeys: Hex | undefined;
  group: Hex | undefined;
  ownCommits: SealedOwnCommit[];
};
type SealedOwnCommit = Omit<OwnCommit, "state"> & { state: Hex };

export const unsealedOwnCommits = (sealed: SealedGroup): OwnCommit[] =>
  sealed.ownCommits.map((c) => ({ ...c, state: decodeGroupState(hexToBytes(c.state)) }));

export function sealableGroup({
  epochKey: _derived,
  digestKey: _alsoDerived,
  declined: _judgedAgain,
  ...state
}: GroupMemberState): SealedGroup {
  return {
    ...state,
    memberKeys: state.memberKeys && bytesToHex(encodeMemberKeys(state.memberKeys)),
    group: state.group && bytesToHex(encodeGroupState(state.group)),
    ownCommits: state.ownCommits.map((c) => ({ ...c, state: bytesToHex(encodeGroupState(c.state)) })),
  };
}

export async function unsealedGroup(sealed: SealedGroup, domain: LedgerDomain): Promise<GroupMemberState> {
  const group = sealed.group ? decodeGroupState(hexToBytes(sealed.group)) : undefined;
  return {
    ...sealed,
    memberKeys: sealed.memberKeys ? decodeMemberKeys(hexToBytes(sealed.memberKeys)) : undefined,
    group,
    ownCommits: unsealedOwnCommits(sealed),
    epochKey: group ? await epochKeyOf(group, domain) : undefined,
    digestKey: group ? await digestKeyOf(group, domain) : undefined,
  };
}

export function groupSummary(state: GroupMemberState, self?: Hex): GroupSummary {
  const me = self ? state.registry.enclaves[self.toLowerCase()] : undefined;
  return {
    keyPackagePublished: me?.keyPackage !== undefined && me.keyPackage === state.keyPackage,
    slot: state.slot.toString(),
    epoch: state.group ? epochOf(state.group).toString() : undefined,
    member: state.group !== undefined,
    removed: state.removed,
    members: state.group ? membersOf(state.group).map((m) => enclaveAddressOf(m.identity)) : [],
    epochKeyFingerprint: keyFingerprint(state.epochKey),
    lastHandshake: state.lastHandshake,
    pending: ownCommitFor(state, state.slot) !== undefined,
    declined: state.group
      ? Object.entries(state.declined ?? {}).map(([enclave, reason]) => ({ enclave: enclave as Hex, reason }))
      : [],
    policyVersion: (state.registry.policy?.version ?? 0n).toString(),
    lastPolicyEvent: state.registry.lastPolicyEvent,
    collateral: Object.values(state.registry.collateral ?? {}).map((held) => ({
      key: held.key,
      platform: held.platform,
      ...("product" in held
        ? { product: held.product }
        : { fmspc: held.fmspc, tcbEvaluationDataNumber: held.tcbEvaluationDataNumber }),
      nextUpdate: held.nextUpdate,
    })),
    lastCollateralEvent: state.registry.lastCollateralEvent,
  };
}

/** Whether `enclave` is a member of this enclave's group as it stands (false outside any group). */
export const isGroupMember = (state: GroupMemberState, enclave: Hex): boolean =>
  state.group !== undefined &&
  membersOf(state.group).some((m) => enclaveAddressOf(m.identity) === enclave.toLowerCase());
