// The evidence verifiers the client judges enclaves with: the same code and pinned roots as the
// enclave's (src/attestation/), each loaded on first use, so that a page pays for the verifier of the
// platform its network runs on and nothing at first load.
import type { PlatformName, Verifier } from "../attestation/verdict.js";

const LOADERS: Record<PlatformName, () => Promise<Verifier>> = {
  sim: async () => (await import("../attestation/sim.js")).verifySimQuote,
  sgx: async () => (await import("../attestation/dcap.js")).verifySgxQuote,
  tdx: async () => (await import("../attestation/dcap.js")).verifyTdxQuote,
  nitro: async () => (await import("../attestation/nitro.js")).verifyNitroDocument,
  "sev-snp": async () => (await import("../attestation/sev-snp.js")).verifySevSnpReport,
};

/** The verifier of `platform`'s evidence. */
export const verifierFor = (platform: PlatformName): Promise<Verifier> => LOADERS[platform]();
