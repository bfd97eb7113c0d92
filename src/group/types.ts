// The values the MLS adapter hands out and takes back; only src/group/ looks inside them.
import type { ClientState, KeyPackage, PrivateKeyPackage } from "ts-mls";

/** Decides whether a member may be in the group; `identity` is the Basic credential's bytes (an attestation). */
export type AuthenticationService = {
  validateCredential(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean>;
  /**
   * Whether a received commit may remove the member with this credential identity (absent: any
   * member may be removed). A commit that removes one it may not is rejected (HandshakeRejected),
   * even when it also removes us.
   */
  validateRemoval?(identity: Uint8Array): boolean;
  /**
   * The digest of a member set (the credential identities of a group's members, in leaf order) that
   * a commit names for the group it makes: the committer puts it in the handshake, every receiver
   * and joiner checks it against the group the commit made (HandshakeRejected), so that the chain
   * carries a commitment to who the members are without saying who they are. Absent: the handshake
   * names none and none is checked.
   */
  memberSetDigest?(identities: readonly Uint8Array[]): Uint8Array;
};

/** The private and public key package of one member, until it joins a group. */
export type MemberKeys = { readonly keyPackage: KeyPackage; readonly privateKeys: PrivateKeyPackage };

/**
 * One member's view of the group at one epoch. Hold and pass it; only this module looks inside (and the
 * group benchmark, which compares against plain ts-mls calls on the same state).
 */
export type GroupState = { readonly mls: ClientState };

/** A leaf of the group: its credential's identity and the MLS signature key its leaf node carries. */
export type Member = {
  readonly leafIndex: number;
  readonly identity: Uint8Array;
  readonly signatureKey: Uint8Array;
};

export type CommitRequest = {
  /** TLS-encoded MLSMessage/KeyPackage bytes of the members to add. */
  readonly add?: readonly Uint8Array[];
  /** Leaf indices of the members to remove. */
  readonly remove?: readonly number[];
};
