// The contract's wire encodings and signed digests, computed off chain exactly as Anonify.sol does.
// Pure functions with no I/O: the enclave, the attestation service, the host and the client share them.
// A payload (a ciphertext, a handshake, a key package, a document) enters a digest by its SHA-256
// (`payloadHash`): every enclave hashes them again, and SHA-256 is ~5x faster than keccak-256 in
// JavaScript (the contract computes it with its precompile).
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  parseAbiParameters,
  toBytes,
  toHex,
} from "viem";
import { bytesOfHex, hexOf, sha256 } from "./bytes.js";

export const REPORT_TAG = keccak256(toBytes("anonify.attestation-report.v1"));
export const BINDING_TAG = keccak256(toBytes("anonify.enclave-binding.v2"));
export const APP_TAG = keccak256(toBytes("anonify.app.v1"));
export const APP_STATE_TAG = keccak256(toBytes("anonify.app-state.v1"));
export const HANDSHAKE_TAG = keccak256(toBytes("anonify.handshake.v1"));
export const BATCH_TAG = keccak256(toBytes("anonify.batch.v1"));
export const KEY_PACKAGE_TAG = keccak256(toBytes("anonify.key-package.v1"));
export const LEAVE_TAG = keccak256(toBytes("anonify.leave.v1"));
export const SNAPSHOT_TAG = keccak256(toBytes("anonify.snapshot.v1"));
export const PEER_TAG = keccak256(toBytes("anonify.peer.v1"));
export const OUTPUTS_TAG = keccak256(toBytes("anonify.outputs.v1"));
/** Signed policy documents (src/protocol/policy-document.ts); the contract does not check them. */
export const POLICY_TAG = keccak256(toBytes("anonify.policy.v1"));
export const MEMBER_SET_TAG = keccak256(toBytes("anonify.member-set.v1"));

/** The ledger's domain: every signature names the chain and the contract, so none replays elsewhere. */
export type LedgerDomain = { chainId: number; contract: Address };

/** What the attestation service vouches for; the field order is the contract's `AttestationReport`. */
export type AttestationReport = {
  platform: number;
  measurement: Hex;
  signerMeasurement: Hex;
  debug: boolean;
  tcbStatus: number;
  reportData: Hex;
  issuedAt: bigint;
};

const REPORT_ABI = parseAbiParameters(
  "(uint8 platform, bytes32 measurement, bytes32 signerMeasurement, bool debug, uint8 tcbStatus, bytes32 reportData, uint64 issuedAt)",
);

export function encodeReport(report: AttestationReport): Hex {
  return encodeAbiParameters(REPORT_ABI, [report]);
}

/** The hash the attestation service signs as an EIP-191 personal message. */
export function reportDigest(encodedReport: Hex): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, bytes32"), [REPORT_TAG, keccak256(encodedReport)]),
  );
}

/**
 * The value an enclave's quote carries as (the first 32 bytes of) its report data: its keys and the
 * app it runs (`appIdOf`), for this chain and contract.
 */
export function enclaveBinding(domain: LedgerDomain, enclave: Address, hpkePublicKey: Hex, app: Hex): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, address, bytes32, bytes32, uint256, address"), [
      BINDING_TAG,
      enclave,
      keccak256(hpkePublicKey),
      app,
      BigInt(domain.chainId),
      domain.contract,
    ]),
  );
}

/**
 * What an app is, for the group: its name, the SHA-256 of its code as built into the enclave (the
 * app's own bundle, `src/build/enclave-bundle.ts`), and the version of its state's shape. Members
 * admit enclaves of their own app only (`appIdOf`), or of an upgrade a signed policy names; the
 * state digest covers the name and state version (`appStateOf`), so two apps, or two shapes of one
 * app's state, never share a digest.
 */
export type AppIdentity = { name: string; codeHash: Hex; stateVersion: number };

/**
 * What the state digest names of the app: its name and state version, not its code. A code upgrade
 * a policy admits, with the same state shape, computes the same digests as long as it computes the
 * same states, and any state it computes otherwise is caught there, loudly; a changed shape needs a
 * migration first.
 */
export function appStateOf(app: AppIdentity): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, bytes32, uint32"), [
      APP_STATE_TAG,
      keccak256(toBytes(app.name)),
      app.stateVersion,
    ]),
  );
}

/** The app's identity as one word: what registration binds, members compare and the contract records. */
export function appIdOf(app: AppIdentity): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, bytes32, bytes32, uint32"), [
      APP_TAG,
      keccak256(toBytes(app.name)),
      app.codeHash,
      app.stateVersion,
    ]),
  );
}

/**
 * A point of the contract's event sequence: a position and the event hash chain's head after it
 * (src/protocol/event-chain.ts). An enclave's signed outputs name the point they were made at, by the
 * head its own history reached there; the contract checks that head against its own (`headAt`).
 */
export type ChainPosition = { seq: bigint; head: Hex };

/**
 * What a committer signs: the handshake for `epoch` (slot), whether it is a rotation (changes no
 * membership: the contract limits how often one enclave commits those), made at point `base`.
 */
export function handshakeDigest(
  domain: LedgerDomain,
  epoch: bigint,
  handshake: Hex,
  rotation: boolean,
  base: ChainPosition,
): Hex {
  return keccak256(
    encodeAbiParameters(
      parseAbiParameters("bytes32, uint256, address, uint64, bytes32, bool, uint64, bytes32"),
      [
        HANDSHAKE_TAG,
        BigInt(domain.chainId),
        domain.contract,
        epoch,
        payloadHash(handshake),
        rotation,
        base.seq,
        base.head,
      ],
    ),
  );
}

/**
 * What an enclave signs for a batch: `nonce` is its batch nonce on chain (each batch signature is
 * usable once), `base` the point it sealed the batch at, and `stateDigest` its state digest there.
 */
export function batchDigest(
  domain: LedgerDomain,
  batch: { epoch: bigint; nonce: bigint; ciphertext: Hex; count: number },
  base: ChainPosition,
  stateDigest: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      parseAbiParameters(
        "bytes32, uint256, address, uint64, uint64, bytes32, uint32, uint64, bytes32, bytes32",
      ),
      [
        BATCH_TAG,
        BigInt(domain.chainId),
        domain.contract,
        batch.epoch,
        batch.nonce,
        payloadHash(batch.ciphertext),
        batch.count,
        base.seq,
        base.head,
        stateDigest,
      ],
    ),
  );
}

/**
 * `nonce` in the records below is the signing enclave's record nonce on chain (`getEnclave`):
 * each such signature is usable once, after the enclave's previous record, so none can be replayed.
 */
export function keyPackageDigest(domain: LedgerDomain, nonce: bigint, keyPackage: Hex): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, uint256, address, uint64, bytes32"), [
      KEY_PACKAGE_TAG,
      BigInt(domain.chainId),
      domain.contract,
      nonce,
      payloadHash(keyPackage),
    ]),
  );
}

/** What each policy signer signs: the document, for one chain and contract. */
export function policyDigest(domain: LedgerDomain, document: Hex): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, uint256, address, bytes32"), [
      POLICY_TAG,
      BigInt(domain.chainId),
      domain.contract,
      payloadHash(document),
    ]),
  );
}

export function leaveDigest(domain: LedgerDomain, nonce: bigint): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, uint256, address, uint64"), [
      LEAVE_TAG,
      BigInt(domain.chainId),
      domain.contract,
      nonce,
    ]),
  );
}

/**
 * A peer announcement: the URL at which the enclave's node serves its API and snapshots. By its
 * keccak-256: no enclave hashes it again (the announcement is not in the event sequence).
 */
export function peerDigest(domain: LedgerDomain, nonce: bigint, url: string): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, uint256, address, uint64, bytes32"), [
      PEER_TAG,
      BigInt(domain.chainId),
      domain.contract,
      nonce,
      keccak256(toBytes(url)),
    ]),
  );
}

/** What the submitting enclave signs for batch `batch`, ordered at `at` (src/protocol/public-outputs.ts: its record). */
export function outputsDigest(domain: LedgerDomain, batch: bigint, at: ChainPosition, outputs: Hex): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, uint256, address, uint64, uint64, bytes32, bytes32"), [
      OUTPUTS_TAG,
      BigInt(domain.chainId),
      domain.contract,
      batch,
      at.seq,
      at.head,
      keccak256(outputs),
    ]),
  );
}

/**
 * A snapshot commitment: the snapshot for the joiners of slot `epoch`, captured at point `at` (the
 * handshake that added them), with the state digest there.
 */
export function snapshotDigest(
  domain: LedgerDomain,
  nonce: bigint,
  epoch: bigint,
  at: ChainPosition,
  stateDigest: Hex,
  snapshotHash: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      parseAbiParameters("bytes32, uint256, address, uint64, uint64, uint64, bytes32, bytes32, bytes32"),
      [
        SNAPSHOT_TAG,
        BigInt(domain.chainId),
        domain.contract,
        nonce,
        epoch,
        at.seq,
        at.head,
        stateDigest,
        snapshotHash,
      ],
    ),
  );
}

export const ZERO_HASH: Hex = toHex(new Uint8Array(32));

/** A payload's name in digests and in the event chain: its SHA-256. */
export const payloadHash = (payload: Hex): Hex => hexOf(sha256(bytesOfHex(payload)));

/**
 * The commitment to a group's members a handshake carries (src/group/handshake-wire.ts): their
 * enclave addresses, sorted, under a tag. Members check it against the group the commit made; a
 * client checks a node's member list against it before it encrypts to a member.
 */
export function memberSetDigest(members: readonly Address[]): Hex {
  const sorted = members.map((m) => m.toLowerCase() as Address).sort();
  return keccak256(encodeAbiParameters(parseAbiParameters("bytes32, address[]"), [MEMBER_SET_TAG, sorted]));
}
