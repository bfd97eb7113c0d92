// The DCAP collateral a registration request brings with its SGX or TDX quote: the set the chain
// holds for it, which the node's host reads (src/client/published-collateral.ts). The service still
// judges it: Intel's root signs it, so a host cannot forge one, and a set that is missing, another
// PKI's or past its next update is refused by name with what the operator must do, before the quote
// is verified against it (which refuses a set for another FMSPC or PCK CA).
import type { Hex } from "viem";
import { verifyPublishedCollateral } from "./dcap/published-collateral.js";
import { collateralFor } from "./held-collateral.js";
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
  const key = collateralFor({}, format, evidence)?.key;
  if (key === undefined) return undefined;
  const [, fmspc, ca] = key.split(":");
  const publish = `publish Intel's current ${format} collateral for FMSPC ${fmspc} (PCK CA ${ca}) on chain (anonify collateral publish)`;
  if (collateral === undefined)
    return { code: "collateral_missing", message: `no collateral came with the quote: ${publish}` };
  let head: ReturnType<typeof verifyPublishedCollateral>;
  try {
    head = verifyPublishedCollateral(collateral, rootCertificatePem);
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
