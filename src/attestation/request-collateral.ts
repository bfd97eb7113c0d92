// The collateral a registration request brings with its evidence: for an SGX or TDX quote the DCAP
// set the chain holds for it, for a SEV-SNP report AMD's CRLs the chain holds for its product (as PEM
// text), both read by the node's host (src/client/published-collateral.ts). The service still judges
// it: Intel's root or AMD's ARK signs it, so a host cannot forge one, and a set that is missing (DCAP
// only: a SEV-SNP report without CRLs is judged, and its verdict warns), another PKI's or past its
// next update is refused by name with what the operator must do, before the evidence is verified
// against it (which refuses a set for another FMSPC, PCK CA or product).
import type { Hex } from "viem";
import { verifyPublishedCollateral } from "./dcap/published-collateral.js";
import { collateralKeyOfEvidence } from "./held-collateral.js";
import { takePemCrls } from "./sev-snp/crl.js";
import { verifyPublishedSevSnpCrls } from "./sev-snp/published-crls.js";
import { type PlatformName, VerificationError } from "./verdict.js";

/** Refusals of a request's collateral, each with what the operator does about it. */
export type CollateralRefusal = {
  code: "collateral_missing" | "collateral_untrusted" | "collateral_stale";
  message: string;
};

/**
 * Why the collateral of this request cannot judge its quote, or undefined when it may (or when the
 * format takes none). A quote too malformed to name its FMSPC is left to its verifier.
 */
export function refuseCollateral(
  format: PlatformName,
  evidence: Hex,
  collateral: unknown,
  now: Date,
  rootCertificatePem?: string,
): CollateralRefusal | undefined {
  const key = collateralKeyOfEvidence(format, evidence);
  if (key === undefined) return undefined;
  const [, fmspc, ca] = key.split(":");
  const publish =
    format === "sev-snp"
      ? `publish AMD's current CRLs for ${fmspc} on chain (anonify collateral publish --sev-snp-crl)`
      : `publish Intel's current ${format} collateral for FMSPC ${fmspc} (PCK CA ${ca}) on chain (anonify collateral publish)`;
  if (collateral === undefined) {
    if (format === "sev-snp") return undefined;
    return { code: "collateral_missing", message: `no collateral came with the quote: ${publish}` };
  }
  let head: { nextUpdate: string };
  try {
    head =
      format === "sev-snp"
        ? verifyPublishedSevSnpCrls(crlsOf(collateral), rootCertificatePem)
        : verifyPublishedCollateral(collateral, rootCertificatePem);
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    return {
      code: "collateral_untrusted",
      message: `the collateral does not verify (${error.reason}): ${publish}`,
    };
  }
  if (now.getTime() > Date.parse(head.nextUpdate))
    return {
      code: "collateral_stale",
      message: `the collateral passed its next update at ${head.nextUpdate}: ${publish}`,
    };
  return undefined;
}

/** The CRLs (DER) of a SEV-SNP request's collateral: PEM text of CRL blocks alone. */
function crlsOf(collateral: unknown): Uint8Array[] {
  if (typeof collateral !== "string")
    throw new VerificationError("sev-snp: collateral must be PEM text of AMD's CRLs");
  const { crls, rest } = takePemCrls(collateral);
  if (crls.length === 0 || rest.trim() !== "")
    throw new VerificationError("sev-snp: collateral must be PEM text of AMD's CRLs and nothing else");
  return crls;
}
