// What every relying party checks of an enclave's verdict beyond its own policy: a member enclave
// before it admits a peer (src/enclave/registry.ts) and a client before it encrypts to one
// (src/client/enclave-evidence.ts). The caller verified the evidence to its pinned roots; here the
// verdict must be of the platform the contract recorded, and its report data the enclave's binding:
// its address, HPKE key and app to this chain and contract (src/protocol/digests.ts
// `enclaveBinding`). What platforms, measurements, TCB statuses and debug each admits is the
// caller's policy.
import type { Hex } from "viem";
import { bindingOf } from "./binding.js";
import { type PlatformName, type Verdict, VerificationError } from "./verdict.js";

/** Why `verdict` is not the evidence of an enclave with `binding` on `platform`, or undefined. */
export function boundVerdictRefusal(
  verdict: Verdict,
  platform: PlatformName,
  binding: Hex,
): string | undefined {
  if (verdict.platform !== platform) return `evidence is ${verdict.platform}, not ${platform}`;
  let bound: Hex;
  try {
    bound = bindingOf(verdict);
  } catch (error) {
    if (error instanceof VerificationError) return error.reason;
    throw error;
  }
  return bound === binding.toLowerCase()
    ? undefined
    : "evidence does not bind this enclave's keys and app to this chain and contract";
}
