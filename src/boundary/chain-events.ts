// The contract's events as they cross the ECALL boundary: JSON with hex strings and decimal
// strings for integers. The host converts viem's decoded logs; the enclave validates every field.
import type { Hex } from "viem";
import { expectAddress, expectHex, expectInteger, expectObject, expectUint, invalid } from "./validate.js";

const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
const MAX_REPORT_BYTES = 7 * 32;

export type EventPosition = { block: string; logIndex: number };

export type LedgerEvent = EventPosition &
  (
    | { kind: "TrustedSignerSet"; signer: Hex; trusted: boolean }
    | { kind: "MeasurementAllowed"; measurement: Hex; allowed: boolean }
    | { kind: "DebugAllowedSet"; allowed: boolean }
    | {
        kind: "EnclaveRegistered";
        enclave: Hex;
        platform: number;
        measurement: Hex;
        debug: boolean;
        hpkePublicKey: Hex;
        report: Hex;
        reportSignature: Hex;
      }
    | { kind: "EnclaveRevoked"; enclave: Hex }
    | { kind: "EnclaveLeft"; enclave: Hex }
    | { kind: "KeyPackagePublished"; enclave: Hex; keyPackage: Hex }
    | { kind: "HandshakeCommitted"; epoch: string; enclave: Hex; head: Hex; handshake: Hex }
    | {
        kind: "BatchSubmitted";
        batch: string;
        epoch: string;
        firstSequence: string;
        count: number;
        enclave: Hex;
        head: Hex;
        ciphertext: Hex;
      }
  );

function bool(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${what} must be a boolean`);
  return value;
}

const bytes32 = (v: unknown, what: string) => expectHex(v, what, { min: 32, max: 32 });

/** Validates one event from the host; unknown kinds are refused rather than skipped. */
export function parseLedgerEvent(raw: unknown): LedgerEvent {
  const e = expectObject(raw, "event");
  const position = {
    block: expectUint(e.block, "event block").toString(),
    logIndex: expectInteger(e.logIndex, "event logIndex", { min: 0, max: 2 ** 32 }),
  };
  switch (e.kind) {
    case "TrustedSignerSet":
      return {
        ...position,
        kind: e.kind,
        signer: expectAddress(e.signer, "signer"),
        trusted: bool(e.trusted, "trusted"),
      };
    case "MeasurementAllowed":
      return {
        ...position,
        kind: e.kind,
        measurement: bytes32(e.measurement, "measurement"),
        allowed: bool(e.allowed, "allowed"),
      };
    case "DebugAllowedSet":
      return { ...position, kind: e.kind, allowed: bool(e.allowed, "allowed") };
    case "EnclaveRegistered":
      return {
        ...position,
        kind: e.kind,
        enclave: expectAddress(e.enclave, "enclave"),
        platform: expectInteger(e.platform, "platform", { min: 0, max: 255 }),
        measurement: bytes32(e.measurement, "measurement"),
        debug: bool(e.debug, "debug"),
        hpkePublicKey: expectHex(e.hpkePublicKey, "hpkePublicKey", { max: 256 }),
        report: expectHex(e.report, "report", { min: MAX_REPORT_BYTES, max: MAX_REPORT_BYTES }),
        reportSignature: expectHex(e.reportSignature, "reportSignature", { min: 65, max: 65 }),
      };
    case "EnclaveRevoked":
    case "EnclaveLeft":
      return { ...position, kind: e.kind, enclave: expectAddress(e.enclave, "enclave") };
    case "KeyPackagePublished":
      return {
        ...position,
        kind: e.kind,
        enclave: expectAddress(e.enclave, "enclave"),
        keyPackage: expectHex(e.keyPackage, "keyPackage", { min: 1, max: MAX_PAYLOAD_BYTES }),
      };
    case "HandshakeCommitted":
      return {
        ...position,
        kind: e.kind,
        epoch: expectUint(e.epoch, "epoch").toString(),
        enclave: expectAddress(e.enclave, "enclave"),
        head: bytes32(e.head, "head"),
        handshake: expectHex(e.handshake, "handshake", { min: 1, max: MAX_PAYLOAD_BYTES }),
      };
    case "BatchSubmitted":
      return {
        ...position,
        kind: e.kind,
        batch: expectUint(e.batch, "batch").toString(),
        epoch: expectUint(e.epoch, "epoch").toString(),
        firstSequence: expectUint(e.firstSequence, "firstSequence").toString(),
        count: expectInteger(e.count, "count", { min: 1, max: 2 ** 32 - 1 }),
        enclave: expectAddress(e.enclave, "enclave"),
        head: bytes32(e.head, "head"),
        ciphertext: expectHex(e.ciphertext, "ciphertext", { min: 1, max: MAX_PAYLOAD_BYTES }),
      };
    default:
      throw invalid(`unknown event kind ${JSON.stringify(e.kind)?.slice(0, 40)}`);
  }
}

/** Strictly after: the enclave accepts each event once, in chain order. */
export function isAfter(a: EventPosition, b: EventPosition | undefined): boolean {
  if (!b) return true;
  const ab = BigInt(a.block);
  const bb = BigInt(b.block);
  return ab > bb || (ab === bb && a.logIndex > b.logIndex);
}
