// The DCAP collateral a member enclave (and a client, src/client/enclave-evidence.ts) judges SGX and TDX quotes against, from the `CollateralPublished`
// events it reads in chain order: per platform, FMSPC and PCK CA, the freshest set that verified to
// the Intel root pinned in this build (src/attestation/dcap/published-collateral.ts). Anyone may
// publish; a set that does not verify, or is not fresher than the one held, changes nothing, and the
// outcome says why. A host can withhold a set (its own node then cannot admit quotes of that
// platform: liveness), never forge one.
import { type Hex, hexToBytes } from "viem";
import { decodeCollateralRecord } from "../protocol/collateral-record.js";
import {
  type CollateralHead,
  collateralKeyOfQuote,
  isFresher,
  readCollateralHead,
  verifyPublishedCollateral,
} from "./dcap/published-collateral.js";
import { type PlatformName, VerificationError } from "./verdict.js";

/** A held set: its head and the record as published. */
export type HeldCollateral = CollateralHead & { record: Hex };

/** What became of the last `CollateralPublished` event: held (under which key), or ignored and why. */
export type CollateralOutcome = { block: string; logIndex: number; key?: string; outcome: string };

/**
 * Well above Intel's FMSPCs in use × two PCK CAs × two platforms; a set for a new key past it is
 * ignored, so a publisher cannot grow every member's sealed state without bound.
 */
export const MAX_HELD_COLLATERAL = 512;

/** A `CollateralPublished` event, as far as its set is judged: the record and where it was ordered. */
export type CollateralEvent = { collateral: Hex; block: string; logIndex: number };

/**
 * The held sets after `event`, and its outcome. What it costs to find a set cannot be held comes
 * before what it costs to verify one: a set held already, or not fresher than the one held for its
 * quotes, is ignored before any signature is checked (anyone can publish a set again for a little gas).
 */
export function applyCollateral(
  held: Readonly<Record<string, HeldCollateral>>,
  event: CollateralEvent,
  rootCertificatePem?: string,
): { held: Readonly<Record<string, HeldCollateral>>; outcome: CollateralOutcome } {
  const at = { block: event.block, logIndex: event.logIndex };
  const ignored = (outcome: string, key?: string) => ({
    held,
    outcome: { ...at, ...(key === undefined ? {} : { key }), outcome: `ignored: ${outcome}` },
  });
  const same = Object.values(held).find((h) => h.record === event.collateral);
  if (same) return ignored("the set held already", same.key);
  let head: CollateralHead;
  try {
    const input = decodeCollateralRecord(hexToBytes(event.collateral));
    const read = readCollateralHead(input).head;
    const current = held[read.key];
    if (current && !isFresher(read, current)) return ignored("not fresher than the set held", read.key);
    if (!current && Object.keys(held).length >= MAX_HELD_COLLATERAL)
      return ignored(`${MAX_HELD_COLLATERAL} sets held`, read.key);
    head = verifyPublishedCollateral(input, rootCertificatePem);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return ignored(error instanceof VerificationError ? error.reason : error.message);
  }
  return {
    held: { ...held, [head.key]: { ...head, record: event.collateral } },
    outcome: { ...at, key: head.key, outcome: "held" },
  };
}

/**
 * The collateral (PCS JSON shape) that judges this DCAP quote, or undefined if none is held;
 * platforms without collateral get undefined. A quote too malformed to name its key also gets
 * undefined: its verification then fails on its own terms.
 */
export function collateralFor(
  held: Readonly<Record<string, HeldCollateral>> | undefined,
  platform: PlatformName,
  evidence: Hex,
): { key: string; collateral?: unknown } | undefined {
  if (platform !== "sgx" && platform !== "tdx") return undefined;
  let key: string;
  try {
    key = collateralKeyOfQuote(platform, hexToBytes(evidence));
  } catch {
    return undefined;
  }
  const set = held?.[key];
  return { key, collateral: set && decodeCollateralRecord(hexToBytes(set.record)) };
}

/** The key of the quotes a published record judges (platform, FMSPC, PCK CA), or undefined if it is malformed. */
export function collateralKeyOf(record: Hex): string | undefined {
  try {
    return readCollateralHead(decodeCollateralRecord(hexToBytes(record))).head.key;
  } catch {
    return undefined;
  }
}
