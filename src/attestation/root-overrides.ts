// Roots that replace the pinned hardware roots for one verifier's caller: a test PKI's in tests (a
// test build pins the same root in the enclave: src/build/pinned-roots.ts), a private PKI's.
// Always passed explicitly, never a default: without it every verifier pins the vendors' roots.
import type { PlatformName } from "./verdict.js";

/**
 * PEM roots by issuer: `intel` replaces the Intel SGX Root CA for SGX and TDX evidence and collateral;
 * `amd` replaces AMD's ARKs for SEV-SNP evidence (an ARK-<product>: its common name says its product).
 */
export type RootOverrides = { intel?: string; amd?: string };

/** The root to pass as `rootCertificatePem` for `platform`'s evidence, if one is overridden. */
export function rootOverrideFor(
  platform: PlatformName,
  roots: RootOverrides | undefined,
): string | undefined {
  if (platform === "sgx" || platform === "tdx") return roots?.intel;
  return platform === "sev-snp" ? roots?.amd : undefined;
}
