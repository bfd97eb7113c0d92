// The contract's events as they cross the ECALL boundary: JSON with hex strings and decimal
// strings for integers. The host converts viem's decoded logs; the enclave checks every field with
// this schema before it looks at any of them.
import type { Hex } from "viem";
import { array, bool, decimal, hex, type Infer, int, tagged } from "../app/schema.js";
import { MAX_COLLATERAL_BYTES } from "../protocol/collateral-record.js";
import { ZERO_HASH } from "../protocol/digests.js";
import {
  MAX_POLICY_BYTES,
  MAX_POLICY_SIGNATURES,
  POLICY_SIGNATURE_BYTES,
} from "../protocol/policy-document.js";
import type { LedgerPoint } from "../protocol/receipts.js";
import { SIGNATURE_BYTES } from "../protocol/signatures.js";

export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** The ABI encoding of the attestation report: seven 32-byte words. */
const REPORT_BYTES = 7 * 32;
export const MAX_HPKE_KEY_BYTES = 256;
/** r ‖ s ‖ v */
const MAX_LOG_INDEX = 2 ** 32;
const MAX_BATCH_COUNT = 2 ** 32 - 1;
const MAX_PLATFORM = 255;
/** A DCAP quote with its certificate chain is ~5 KiB, a Nitro document ~5 KiB; room to spare. */
export const MAX_EVIDENCE_BYTES = 64 * 1024;

const address = hex({ min: 20, max: 20 });
const bytes32 = hex({ min: 32, max: 32 });
const uint64 = decimal({ bits: 64 });
const payload = hex({ min: 1, max: MAX_PAYLOAD_BYTES });
const signature = hex({ min: SIGNATURE_BYTES, max: SIGNATURE_BYTES });
/**
 * Where the event sits: its place in the contract's one sequence (`seq`, the block time it was
 * ordered at and the event chain's head after it, src/protocol/event-chain.ts), and the block and log
 * index the host read it at (for its own follower: the enclave orders by `seq` alone).
 */
const position = {
  seq: uint64,
  timestamp: uint64,
  head: bytes32,
  block: uint64,
  logIndex: int({ min: 0, max: MAX_LOG_INDEX }),
};

/**
 * One event per kind of the contract's sequence (the owner's policy events are not in it: enclaves do
 * not act on them); an unknown kind is refused, never skipped.
 */
export const LEDGER_EVENT = tagged("kind", {
  EnclaveRegistered: {
    ...position,
    enclave: address,
    platform: int({ min: 0, max: MAX_PLATFORM }),
    measurement: bytes32,
    debug: bool(),
    hpkePublicKey: hex({ max: MAX_HPKE_KEY_BYTES }),
    /** The app it runs (`appIdOf`), as its quote's report data binds it. */
    app: bytes32,
    report: hex({ min: REPORT_BYTES, max: REPORT_BYTES }),
    reportSignature: signature,
    /** The raw attestation evidence, in the format of `platform`; members verify it inside. */
    evidence: hex({ min: 1, max: MAX_EVIDENCE_BYTES }),
  },
  EnclaveLeft: { ...position, enclave: address, nonce: uint64, signature },
  /** A policy document and its signatures, as anyone published them: the enclave verifies both. */
  PolicyPublished: {
    ...position,
    document: hex({ min: 1, max: MAX_POLICY_BYTES }),
    signatures: array(hex({ max: POLICY_SIGNATURE_BYTES }), { max: MAX_POLICY_SIGNATURES }),
  },
  /** Intel PCS collateral as anyone published it (src/protocol/collateral-record.ts): the enclave verifies it. */
  CollateralPublished: { ...position, collateral: hex({ min: 1, max: MAX_COLLATERAL_BYTES }) },
  KeyPackagePublished: { ...position, enclave: address, nonce: uint64, keyPackage: payload, signature },
  HandshakeCommitted: {
    ...position,
    epoch: uint64,
    enclave: address,
    /** Signed by the committer: the commit changes no membership (members void it if it does). */
    rotation: bool(),
    baseSeq: uint64,
    handshake: payload,
    signature,
  },
  BatchSubmitted: {
    ...position,
    batch: uint64,
    baseSeq: uint64,
    enclave: address,
    epoch: uint64,
    firstSequence: uint64,
    count: int({ min: 1, max: MAX_BATCH_COUNT }),
    stateDigest: bytes32,
    ciphertext: payload,
    signature,
  },
  SnapshotCommitted: {
    ...position,
    enclave: address,
    nonce: uint64,
    epoch: uint64,
    at: uint64,
    stateDigest: bytes32,
    snapshotHash: bytes32,
    signature,
  },
});

export type LedgerEvent = Infer<typeof LEDGER_EVENT>;
export type LedgerEventKind = LedgerEvent["kind"];

/**
 * The last event an enclave applied: its place in the sequence, and where the host read it (the
 * host resumes its follower right after that block and log index).
 */
export type EventCursor = {
  readonly seq: string;
  readonly head: Hex;
  readonly timestamp: string;
  readonly block: string;
  readonly logIndex: number;
};

export const cursorOf = (event: LedgerEvent): EventCursor => ({
  seq: event.seq,
  head: event.head,
  timestamp: event.timestamp,
  block: event.block,
  logIndex: event.logIndex,
});

/** The point of the chain an enclave at `cursor` reflects (before any event: position 0). */
export const pointOf = (cursor: EventCursor | undefined): LedgerPoint =>
  cursor
    ? { seq: BigInt(cursor.seq), head: cursor.head, block: BigInt(cursor.block) }
    : { seq: 0n, head: ZERO_HASH, block: 0n };
