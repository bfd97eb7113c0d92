// The errors the MLS adapter throws on purpose, each a GroupError; `cause` keeps the ts-mls error.

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
