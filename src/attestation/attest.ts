import type { Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { type AttestationReport, encodeReport, reportDigest } from "../protocol/digests.js";
import { bindingOf, measurementWord } from "./binding.js";
import { type AttestationPolicy, enforcePolicy } from "./policy.js";
import { Platform, TcbStatus, type Verdict } from "./verdict.js";
import { type EvidenceFormat, VERIFIERS } from "./verifiers.js";

export { bindingOf, measurementWord } from "./binding.js";

export type AttestRequest = { format: EvidenceFormat; evidence: Uint8Array; collateral?: unknown };
export type SignedReport = {
  report: Hex;
  signature: Hex;
  signer: Hex;
  fields: AttestationReport;
  verdict: Verdict;
};

/**
 * `rootCertificatePem`: replaces the pinned root for this evidence (a test PKI's, in tests only:
 * root-overrides.ts). Imported by the enclave (for `measurementWord`): what it imports changes the
 * enclave's measurement, so the choice of root is the service's.
 */
export type AttestContext = {
  policy: AttestationPolicy;
  signer: PrivateKeyAccount;
  now: Date;
  rootCertificatePem?: string;
};

export async function attest(request: AttestRequest, context: AttestContext): Promise<SignedReport> {
  const verdict = await VERIFIERS[request.format](request.evidence, {
    now: context.now,
    collateral: request.collateral,
    rootCertificatePem: context.rootCertificatePem,
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
