// Intel DCAP verifiers: SGX quote v3 and TDX quotes v4 and v5, judged against PCS collateral
// (options.collateral) and the pinned Intel SGX Root CA. See dcap/verify.ts for what is checked,
// what @phala/dcap-qvl does and what we add to it.
import { verifyDcapQuote } from "./dcap/verify.js";
import type { Verifier } from "./verdict.js";

export type { Collateral } from "./dcap/collateral.js";
export { parseCollateral } from "./dcap/collateral.js";
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./dcap/intel-root.js";
export type { EnclaveReportBody, ParsedQuote, TdReportBody } from "./dcap/quote.js";
export { parseQuote } from "./dcap/quote.js";
export {
  combineTdxMeasurement,
  TDX_MEASUREMENT_COMPONENTS,
  TDX_MEASUREMENT_TAG,
  tdxMeasurement,
} from "./dcap/tdx-measurement.js";

/** Verifies an Intel SGX ECDSA quote (v3); measurement = MRENCLAVE, signer = MRSIGNER. */
export const verifySgxQuote: Verifier = (evidence, options) => verifyDcapQuote("sgx", evidence, options);

/**
 * Verifies an Intel TDX quote (v4, or v5 with TD report 1.0 or 1.5); measurement = the combined TDX
 * measurement (MRTD, RTMR0-3, MRCONFIGID, MROWNER, MROWNERCONFIG; dcap/tdx-measurement.ts), signer =
 * MRSIGNERSEAM.
 */
export const verifyTdxQuote: Verifier = (evidence, options) => verifyDcapQuote("tdx", evidence, options);
