// The client's own policy on which enclaves it encrypts to, applied to the verdict it reached on the
// enclave's evidence itself (src/client/enclave-evidence.ts), never to what a node or the contract's
// owner says of it.
import type { Address, Hex } from "viem";
import { measurementWord } from "../attestation/binding.js";
import type { RootOverrides } from "../attestation/root-overrides.js";
import { Platform, type PlatformName, type TcbStatusName } from "../attestation/verdict.js";

/**
 * Which enclaves a client encrypts to. A field left out is the strict choice, except `platforms`,
 * `measurements` (unless `requireMeasurement`), `tcbStatuses` and `apps`, which then take any.
 */
export type EnclavePolicy = {
  /** Platforms accepted (default: any whose evidence verifies). */
  platforms?: readonly PlatformName[];
  /**
   * Measurements accepted, as the evidence reports them (MRENCLAVE, the combined TDX measurement,
   * Nitro's PCR0 or its SHA-256 word as on chain).
   */
  measurements?: readonly Hex[];
  /** Refuse every measurement unless `measurements` names it (a real deployment's users pin its build). */
  requireMeasurement?: boolean;
  /** TCB statuses accepted (default: any); the simulated platform has none to judge. */
  tcbStatuses?: readonly TcbStatusName[];
  /** Apps accepted, by the id the enclave registered with (`appIdOf`; default: any). */
  apps?: readonly Hex[];
  /** Accept an enclave whose evidence says debug (default: no). */
  allowDebug?: boolean;
  /** Accept the simulated TEE platform, which protects nothing (default: no). */
  allowSimulated?: boolean;
  /**
   * The highest SEV-SNP VMPL accepted (default: any). A report from VMPL 1 or more is made by
   * software beside the guest kernel (an SVSM), not by it: production takes 0 unless a signed policy
   * document of the deployment admits more, as members do.
   */
  maxVmpl?: number;
  /** Enclaves a signed policy document revoked (lower case): refused whatever their evidence says. */
  revoked?: readonly Hex[];
  /**
   * Replaces the hardware roots the verifiers pin (a test PKI's, in tests; a private PKI's): no
   * policy names one, and without it evidence verifies to Intel's and AMD's roots only.
   */
  roots?: RootOverrides;
};

export const ENCLAVE_POLICIES = {
  /**
   * Real TEEs only, never debug, never simulated, a current TCB (or one that needs only software
   * hardening, as Intel rates it), and only measurements the user pins.
   */
  production: {
    platforms: ["sgx", "tdx", "nitro", "sev-snp"],
    allowDebug: false,
    allowSimulated: false,
    tcbStatuses: ["UpToDate", "SWHardeningNeeded"],
    requireMeasurement: true,
    maxVmpl: 0,
  },
  /** Any enclave whose evidence verifies, simulated and debug ones included (the client reports them). */
  development: { allowDebug: true, allowSimulated: true },
} as const satisfies Record<string, EnclavePolicy>;

export type EnclavePolicyName = keyof typeof ENCLAVE_POLICIES;

export function isEnclavePolicyName(name: string): name is EnclavePolicyName {
  return Object.hasOwn(ENCLAVE_POLICIES, name);
}

/** Anvil's and Hardhat's chain id: the only chain where the development policy is the default. */
export const DEVELOPMENT_CHAIN_ID = 31337;

/** The policy a client takes when none is named: production, except on a development chain. */
export const defaultPolicyName = (chainId: number): EnclavePolicyName =>
  chainId === DEVELOPMENT_CHAIN_ID ? "development" : "production";

/** What the client concluded of an enclave and acted on: shown to the user beside "served by". */
export type EnclaveVerdict = {
  address: Address;
  platform: PlatformName;
  /** The code identity the evidence reports (MRENCLAVE, the combined TDX measurement, PCR0, bundle hash). */
  measurement: Hex;
  tcbStatus: TcbStatusName;
  advisoryIds: readonly string[];
  debug: boolean;
  /** The simulated platform: attested by a key anyone may hold, so it protects nothing. */
  simulated: boolean;
  /** The app the evidence binds (`appIdOf`). */
  app: Hex;
  /** SEV-SNP: the VMPL the report was made at (other platforms have none). */
  vmpl?: number;
};

/** A readable label, e.g. "simulated TEE", "Intel SGX (debug)". */
export function platformLabel(info: Pick<EnclaveVerdict, "platform" | "debug">): string {
  const names: Record<PlatformName, string> = {
    sim: "simulated TEE",
    sgx: "Intel SGX",
    tdx: "Intel TDX",
    nitro: "AWS Nitro",
    "sev-snp": "AMD SEV-SNP",
  };
  return `${names[info.platform]}${info.debug && info.platform !== "sim" ? " (debug)" : ""}`;
}

/** The platform name of the contract's number, or undefined for a number it does not define. */
export function platformName(n: number): PlatformName | undefined {
  return (Object.keys(Platform) as PlatformName[]).find((k) => Platform[k] === n);
}

/** Whether `pinned` names `measurement` (a Nitro PCR0 may be pinned whole or as its on-chain word). */
const names = (pinned: Hex, measurement: Hex): boolean =>
  pinned.toLowerCase() === measurement.toLowerCase() ||
  pinned.toLowerCase() === measurementWord(measurement.slice(2)).toLowerCase();

/** Why `policy` refuses every enclave of `platform`, whatever its evidence says, or undefined. */
export function platformRefusal(policy: EnclavePolicy, platform: PlatformName): string | undefined {
  if (platform === "sim" && !policy.allowSimulated)
    return "it runs on the simulated TEE platform, which protects nothing, and the policy does not allow it";
  if (policy.platforms && !policy.platforms.includes(platform))
    return `its platform ${platform} is not one the policy allows (${policy.platforms.join(", ")})`;
  return undefined;
}

/** Why `policy` refuses an enclave of this verdict, or undefined if it accepts it. */
export function verdictRefusal(policy: EnclavePolicy, v: EnclaveVerdict): string | undefined {
  if (policy.revoked?.includes(v.address.toLowerCase() as Hex))
    return "a policy document signed by the deployment's policy keys revoked it";
  const refused = platformRefusal(policy, v.platform);
  if (refused) return refused;
  if (v.debug && !v.simulated && !policy.allowDebug)
    return "it is a debug enclave (its memory is readable by its host) and the policy does not allow debug";
  if (policy.maxVmpl !== undefined && v.vmpl !== undefined && v.vmpl > policy.maxVmpl)
    return `its report is from VMPL ${v.vmpl}, not the guest kernel's own: the policy takes at most VMPL ${policy.maxVmpl}`;
  if (policy.tcbStatuses && !v.simulated && !policy.tcbStatuses.includes(v.tcbStatus)) {
    const advisories = v.advisoryIds.length ? ` (${v.advisoryIds.join(", ")})` : "";
    return `its TCB status ${v.tcbStatus}${advisories} is not one the policy allows (${policy.tcbStatuses.join(", ")})`;
  }
  if (policy.measurements) {
    if (!policy.measurements.some((m) => names(m, v.measurement)))
      return `its measurement ${v.measurement} is not one the policy allows`;
  } else if (policy.requireMeasurement) {
    return `its measurement ${v.measurement} is not pinned: this policy takes only measurements the user names (--measurement)`;
  }
  if (policy.apps && !policy.apps.some((a) => a.toLowerCase() === v.app.toLowerCase()))
    return `its app ${v.app} is not one the policy allows`;
  return undefined;
}
