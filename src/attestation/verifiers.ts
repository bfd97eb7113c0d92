import { verifySgxQuote, verifyTdxQuote } from "./dcap.js";
import { verifyNitroDocument } from "./nitro.js";
import { verifySevSnpReport } from "./sev-snp.js";
import { verifySimQuote } from "./sim.js";
import type { Verifier } from "./verdict.js";

/** The evidence formats the attestation service and `anonify attest verify` understand. */
export const VERIFIERS = {
  sgx: verifySgxQuote,
  tdx: verifyTdxQuote,
  nitro: verifyNitroDocument,
  "sev-snp": verifySevSnpReport,
  sim: verifySimQuote,
} as const satisfies Record<string, Verifier>;

export type EvidenceFormat = keyof typeof VERIFIERS;

export function isEvidenceFormat(format: string): format is EvidenceFormat {
  return Object.hasOwn(VERIFIERS, format);
}
