// Evidence in, signed report out: what the attestation service does for each request, without HTTP.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { type AttestationReport, encodeReport, reportDigest } from "../protocol/digests.js";
import { type AttestationPolicy, enforcePolicy } from "./policy.js";
import { Platform, TcbStatus, type Verdict, VerificationError } from "./verdict.js";
import { type EvidenceFormat, VERIFIERS } from "./verifiers.js";

const BINDING_BYTES = 32;

export type AttestRequest = { format: EvidenceFormat; evidence: Uint8Array; collateral?: unknown };
export type SignedReport = {
  report: Hex;
  signature: Hex;
  signer: Hex;
  fields: AttestationReport;
  verdict: Verdict;
};

export type AttestContext = { policy: AttestationPolicy; signer: PrivateKeyAccount; now: Date };

/** The contract sees a 32-byte report data: the binding; the rest of the evidence's report data must be zero. */
export function bindingOf(verdict: Verdict): Hex {
  const data = hexToBytes(`0x${verdict.reportData}`);
  if (data.length < BINDING_BYTES) throw new VerificationError("report data is shorter than 32 bytes");
  if (data.subarray(BINDING_BYTES).some((b) => b !== 0)) {
    throw new VerificationError("report data carries bytes after the 32-byte binding");
  }
  return bytesToHex(data.subarray(0, BINDING_BYTES));
}

/**
 * The contract keeps 32-byte measurements. SGX's and the combined TDX measurement are 32 bytes;
 * Nitro's PCR0 is 48 (SHA-384), so it enters the contract as its SHA-256, which the allow-list names.
 */
export function measurementWord(hex: string): Hex {
  const bytes = hexToBytes(`0x${hex}`);
  return bytes.length === 32 ? bytesToHex(bytes) : bytesToHex(sha256(bytes));
}

export async function attest(request: AttestRequest, context: AttestContext): Promise<SignedReport> {
  const verdict = await VERIFIERS[request.format](request.evidence, {
    now: context.now,
    collateral: request.collateral,
  });
  enforcePolicy(context.policy, verdict, context.now);
  const fields: AttestationReport = {
    platform: Platform[verdict.platform],
    measurement: measurementWord(verdict.measurement),
    signerMeasurement: measurementWord(verdict.signerMeasurement),
    debug: verdict.debug,
    tcbStatus: TcbStatus[verdict.tcbStatus],
    reportData: bindingOf(verdict),
    issuedAt: BigInt(Math.floor(context.now.getTime() / 1000)),
  };
  const report = encodeReport(fields);
  const signature = await context.signer.signMessage({ message: { raw: reportDigest(report) } });
  return { report, signature, signer: context.signer.address, fields, verdict };
}
