// The contract's event sequence, computed off chain exactly as Anonify.sol's `position` does. Every
// event an enclave acts on takes the next position `seq` in one sequence and extends one hash chain:
//
//     head(seq) = keccak256(abi.encode(head(seq − 1), uint64 seq, uint64 timestamp, bytes32 item))
//
// with head(0) the zero hash, `timestamp` the block time the event was ordered at, and `item` the
// keccak256 of the event's own fields under its kind's tag (byte strings by their SHA-256,
// `payloadHash`), in the contract's order (`eventItem`). An enclave recomputes the chain from what its host
// feeds it, so the head it reaches commits to exactly that sequence: a host can withhold a suffix,
// but an event dropped, reordered or changed in the middle gives a head the chain never had.
// Pure: the enclave, the host, the client and the tests share it.
import { type Address, encodeAbiParameters, type Hex, keccak256, parseAbiParameters, toBytes } from "viem";
import { type ChainPosition, payloadHash, ZERO_HASH } from "./digests.js";

/** The kinds of events in the sequence and each one's item tag. */
export const ITEM_TAGS = {
  EnclaveRegistered: keccak256(toBytes("anonify.event.enclave-registered.v1")),
  EnclaveLeft: keccak256(toBytes("anonify.event.enclave-left.v1")),
  PolicyPublished: keccak256(toBytes("anonify.event.policy-published.v1")),
  CollateralPublished: keccak256(toBytes("anonify.event.collateral-published.v1")),
  KeyPackagePublished: keccak256(toBytes("anonify.event.key-package-published.v1")),
  HandshakeCommitted: keccak256(toBytes("anonify.event.handshake-committed.v1")),
  BatchSubmitted: keccak256(toBytes("anonify.event.batch-submitted.v1")),
  SnapshotCommitted: keccak256(toBytes("anonify.event.snapshot-committed.v1")),
} as const;

export type SequencedKind = keyof typeof ITEM_TAGS;
export const SEQUENCED_KINDS = Object.keys(ITEM_TAGS) as SequencedKind[];
export const isSequencedKind = (kind: string): kind is SequencedKind => Object.hasOwn(ITEM_TAGS, kind);

/** Integers cross as decimal strings or numbers (the boundary's JSON), or as bigints (viem's logs). */
type Uint = string | number | bigint;

/** The fields each kind's item hashes, as its event carries them. */
export type ItemFields = {
  EnclaveRegistered: {
    enclave: Address;
    platform: Uint;
    measurement: Hex;
    debug: boolean;
    hpkePublicKey: Hex;
    app: Hex;
    report: Hex;
    reportSignature: Hex;
    evidence: Hex;
  };
  EnclaveLeft: { enclave: Address; nonce: Uint; signature: Hex };
  PolicyPublished: { document: Hex; signatures: readonly Hex[] };
  CollateralPublished: { collateral: Hex };
  KeyPackagePublished: { enclave: Address; nonce: Uint; keyPackage: Hex; signature: Hex };
  HandshakeCommitted: {
    epoch: Uint;
    enclave: Address;
    rotation: boolean;
    handshake: Hex;
    baseSeq: Uint;
    signature: Hex;
  };
  BatchSubmitted: {
    batch: Uint;
    epoch: Uint;
    firstSequence: Uint;
    count: Uint;
    enclave: Address;
    ciphertext: Hex;
    baseSeq: Uint;
    stateDigest: Hex;
    signature: Hex;
  };
  SnapshotCommitted: {
    enclave: Address;
    nonce: Uint;
    epoch: Uint;
    at: Uint;
    stateDigest: Hex;
    snapshotHash: Hex;
    signature: Hex;
  };
};

export type SequencedEvent = { [K in SequencedKind]: { kind: K } & ItemFields[K] }[SequencedKind];

const SIGNATURES = parseAbiParameters("bytes[]");
const encode = (types: string, values: readonly unknown[]) =>
  keccak256(encodeAbiParameters(parseAbiParameters(types), values as never));

/** The item hash of one event: its kind's tag and fields, as the contract hashes them. */
export function eventItem(event: SequencedEvent): Hex {
  const tag = ITEM_TAGS[event.kind];
  switch (event.kind) {
    case "EnclaveRegistered":
      return encode("bytes32, address, uint8, bytes32, bool, bytes32, bytes32, bytes32, bytes32, bytes32", [
        tag,
        event.enclave,
        Number(event.platform),
        event.measurement,
        event.debug,
        payloadHash(event.hpkePublicKey),
        event.app,
        payloadHash(event.report),
        payloadHash(event.reportSignature),
        payloadHash(event.evidence),
      ]);
    case "EnclaveLeft":
      return encode("bytes32, address, uint64, bytes32", [
        tag,
        event.enclave,
        BigInt(event.nonce),
        payloadHash(event.signature),
      ]);
    case "PolicyPublished":
      return encode("bytes32, bytes32, bytes32", [
        tag,
        payloadHash(event.document),
        payloadHash(encodeAbiParameters(SIGNATURES, [event.signatures])),
      ]);
    case "CollateralPublished":
      return encode("bytes32, bytes32", [tag, payloadHash(event.collateral)]);
    case "KeyPackagePublished":
      return encode("bytes32, address, uint64, bytes32, bytes32", [
        tag,
        event.enclave,
        BigInt(event.nonce),
        payloadHash(event.keyPackage),
        payloadHash(event.signature),
      ]);
    case "HandshakeCommitted":
      return encode("bytes32, uint64, address, bytes32, bool, uint64, bytes32", [
        tag,
        BigInt(event.epoch),
        event.enclave,
        payloadHash(event.handshake),
        event.rotation,
        BigInt(event.baseSeq),
        payloadHash(event.signature),
      ]);
    case "BatchSubmitted":
      return encode("bytes32, uint64, uint64, uint64, uint32, address, bytes32, uint64, bytes32, bytes32", [
        tag,
        BigInt(event.batch),
        BigInt(event.epoch),
        BigInt(event.firstSequence),
        Number(event.count),
        event.enclave,
        payloadHash(event.ciphertext),
        BigInt(event.baseSeq),
        event.stateDigest,
        payloadHash(event.signature),
      ]);
    case "SnapshotCommitted":
      return encode("bytes32, address, uint64, uint64, uint64, bytes32, bytes32, bytes32", [
        tag,
        event.enclave,
        BigInt(event.nonce),
        BigInt(event.epoch),
        BigInt(event.at),
        event.stateDigest,
        event.snapshotHash,
        payloadHash(event.signature),
      ]);
  }
}

/** The head after position `seq`, from the head before it. */
export function nextEventHead(previous: Hex, seq: bigint, timestamp: bigint, item: Hex): Hex {
  return encode("bytes32, uint64, uint64, bytes32", [previous, seq, timestamp, item]);
}

export type { ChainPosition } from "./digests.js";

/** Heads the contract keeps (its `HEAD_WINDOW`): a signed output names a point at most this far back. */
export const HEAD_WINDOW = 1024n;

/** Position 0, before any event: the zero hash. */
export const GENESIS_POSITION: ChainPosition = { seq: 0n, head: ZERO_HASH };

/** The position after `event`, which must come right after `at`: its head as the contract computed it. */
export function positionAfter(at: ChainPosition, event: SequencedEvent, timestamp: bigint): ChainPosition {
  const seq = at.seq + 1n;
  return { seq, head: nextEventHead(at.head, seq, timestamp, eventItem(event)) };
}
