// The collateral a member enclave (and a client, src/client/enclave-evidence.ts) judges evidence against, from the `CollateralPublished`
// events it reads in chain order: for SGX and TDX quotes, per platform, FMSPC and PCK CA, the freshest
// set that verified to the Intel root pinned in this build (src/attestation/dcap/published-collateral.ts);
// for SEV-SNP reports, per product, the freshest set of AMD's CRLs that verified to the ARK pinned
// for it (src/attestation/sev-snp/published-crls.ts; a record's magic tells the two apart). Anyone may
// publish; a set that does not verify, or is not fresher than the one held, changes nothing, and the
// outcome says why. A host can withhold a set (its own node then cannot admit quotes of that
// platform: liveness; SEV-SNP evidence is then judged without a CRL, and its verdict warns), never
// forge one.
import { type Hex, hexToBytes } from "viem";
import { decodeCollateralRecord } from "../protocol/collateral-record.js";
import { decodeSevSnpCrlRecord, isSevSnpCrlRecord } from "../protocol/sev-snp-crl-record.js";
import {
  type CollateralHead,
  collateralKeyOfQuote,
  isFresher,
  readCollateralHead,
  verifyPublishedCollateral,
} from "./dcap/published-collateral.js";
import {
  readSevSnpCrlHead,
  type SevSnpCrlHead,
  sevSnpCrlCollateral,
  sevSnpCrlKeyOfEvidence,
  verifyPublishedSevSnpCrls,
} from "./sev-snp/published-crls.js";
import { type PlatformName, VerificationError } from "./verdict.js";

/** A held set: its head (Intel's collateral or AMD's CRLs) and the record as published. */
export type HeldCollateral = (CollateralHead | SevSnpCrlHead) & { record: Hex };

/** A published record read: its head (no signature checked), and its verification, which costs more. */
type ReadRecord = {
  head(): CollateralHead | SevSnpCrlHead;
  verify(): CollateralHead | SevSnpCrlHead;
  /** What the verifier takes as `options.collateral`: PCS JSON, or the CRLs as PEM. */
  collateral: unknown;
};

function readRecord(record: Hex, rootCertificatePem?: string): ReadRecord {
  const bytes = hexToBytes(record);
  if (isSevSnpCrlRecord(bytes)) {
    const ders = decodeSevSnpCrlRecord(bytes);
    return {
      head: () => readSevSnpCrlHead(ders, rootCertificatePem).head,
      verify: () => verifyPublishedSevSnpCrls(ders, rootCertificatePem),
      collateral: sevSnpCrlCollateral(ders),
    };
  }
  const input = decodeCollateralRecord(bytes);
  return {
    head: () => readCollateralHead(input).head,
    verify: () => verifyPublishedCollateral(input, rootCertificatePem),
    collateral: input,
  };
}

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
  let head: CollateralHead | SevSnpCrlHead;
  try {
    const record = readRecord(event.collateral, rootCertificatePem);
    const read = record.head();
    const current = held[read.key];
    if (current && !isFresher(read, current)) return ignored("not fresher than the set held", read.key);
    if (!current && Object.keys(held).length >= MAX_HELD_COLLATERAL)
      return ignored(`${MAX_HELD_COLLATERAL} sets held`, read.key);
    head = record.verify();
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
 * The key of the set that judges this evidence (`platform:fmspc:ca` for a DCAP quote,
 * `sev-snp:<product>` for a SEV-SNP report), or undefined for platforms without collateral and
 * evidence too malformed to name one (its verification then fails on its own terms).
 */
export function collateralKeyOfEvidence(platform: PlatformName, evidence: Hex): string | undefined {
  try {
    if (platform === "sgx" || platform === "tdx") return collateralKeyOfQuote(platform, hexToBytes(evidence));
    return platform === "sev-snp" ? sevSnpCrlKeyOfEvidence(hexToBytes(evidence)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The collateral that judges this evidence: for a DCAP quote the PCS JSON shape (`collateral`
 * undefined if none is held: the quote cannot be judged), for a SEV-SNP report AMD's CRLs as PEM
 * (undefined as a whole if none is held: the report is judged without, and its verdict warns);
 * undefined for platforms without collateral.
 */
export function collateralFor(
  held: Readonly<Record<string, HeldCollateral>> | undefined,
  platform: PlatformName,
  evidence: Hex,
): { key: string; collateral?: unknown } | undefined {
  const key = collateralKeyOfEvidence(platform, evidence);
  if (key === undefined) return undefined;
  const set = held?.[key];
  if (platform === "sev-snp" && set === undefined) return undefined;
  return { key, collateral: set && readRecord(set.record).collateral };
}

/**
 * The key of the evidence a published record judges, or undefined if it is malformed (or, for AMD's
 * CRLs, issued by none of the roots: `rootCertificatePem`, the pinned ARKs when omitted).
 */
export function collateralKeyOf(record: Hex, rootCertificatePem?: string): string | undefined {
  try {
    return readRecord(record, rootCertificatePem).head().key;
  } catch {
    return undefined;
  }
}
