// The client's own policy on which enclaves it encrypts to, checked against the enclave's record on
// chain (the contract's `getEnclave`), never against what a node says of its enclave.
import type { Address, Hex } from "viem";
import { Platform, type PlatformName } from "../attestation/verdict.js";

/**
 * Which enclaves a client encrypts to. A field left out is the strict choice: any platform and any
 * measurement the contract admitted, but no debug enclave and no simulated one.
 */
export type EnclavePolicy = {
  /** Platforms accepted (default: any the contract admits). */
  platforms?: readonly PlatformName[];
  /** Measurements accepted (default: any the contract admits). */
  measurements?: readonly Hex[];
  /** Apps accepted, by the id the enclave registered with (`appIdOf`; default: any). */
  apps?: readonly Hex[];
  /** Accept an enclave registered with its debug flag set (default: no). */
  allowDebug?: boolean;
  /** Accept the simulated TEE platform, which protects nothing (default: no). */
  allowSimulated?: boolean;
};

export const ENCLAVE_POLICIES = {
  /** Real TEEs only, never debug, never simulated. */
  production: { platforms: ["sgx", "tdx", "nitro"], allowDebug: false, allowSimulated: false },
  /** Any enclave the contract admits, the simulated ones included (the client reports them). */
  development: { allowDebug: true, allowSimulated: true },
} as const satisfies Record<string, EnclavePolicy>;

export type EnclavePolicyName = keyof typeof ENCLAVE_POLICIES;

export function isEnclavePolicyName(name: string): name is EnclavePolicyName {
  return Object.hasOwn(ENCLAVE_POLICIES, name);
}

/** An enclave as the contract records it, with what the client reports about it. */
export type EnclaveInfo = {
  address: Address;
  platform: PlatformName;
  measurement: Hex;
  /** The app it registered as running (its quote binds it). */
  app: Hex;
  /** The contract records every simulated enclave as debug. */
  debug: boolean;
  simulated: boolean;
};

/** A readable label, e.g. "simulated TEE", "Intel SGX (debug)". */
export function platformLabel(info: Pick<EnclaveInfo, "platform" | "debug">): string {
  const names: Record<PlatformName, string> = {
    sim: "simulated TEE",
    sgx: "Intel SGX",
    tdx: "Intel TDX",
    nitro: "AWS Nitro",
  };
  return `${names[info.platform]}${info.debug && info.platform !== "sim" ? " (debug)" : ""}`;
}

/** The platform name of the contract's number, or undefined for a number it does not define. */
export function platformName(n: number): PlatformName | undefined {
  return (Object.keys(Platform) as PlatformName[]).find((k) => Platform[k] === n);
}

/** Why `policy` refuses the enclave, or undefined if it accepts it. */
export function policyRefusal(policy: EnclavePolicy, info: EnclaveInfo): string | undefined {
  if (info.simulated && !policy.allowSimulated)
    return "it runs on the simulated TEE platform, which protects nothing, and the policy does not allow it";
  if (policy.platforms && !policy.platforms.includes(info.platform))
    return `its platform ${info.platform} is not one the policy allows (${policy.platforms.join(", ")})`;
  if (info.debug && !info.simulated && !policy.allowDebug)
    return "it is a debug enclave (its memory is readable by its host) and the policy does not allow debug";
  if (
    policy.measurements &&
    !policy.measurements.some((m) => m.toLowerCase() === info.measurement.toLowerCase())
  )
    return `its measurement ${info.measurement} is not one the policy allows`;
  if (policy.apps && !policy.apps.some((a) => a.toLowerCase() === info.app.toLowerCase()))
    return `its app ${info.app} is not one the policy allows`;
  return undefined;
}
