// The seam between enclave code and the TEE it runs on. Everything in src/enclave runs inside the enclave
// process; a platform gives it what the host cannot: a sealing key, a quote, and (on hardware) the
// identity its own evidence names.

/** Bytes in a measurement (MRENCLAVE-like) and in a signer measurement (MRSIGNER-like). */
export const IDENTITY_BYTES = 32;
/** Bytes of report data a quote carries (as in SGX/TDX REPORTDATA). */
export const REPORT_DATA_BYTES = 64;
/** Bytes of a sealing key. */
export const SEALING_KEY_BYTES = 32;

export type EnclaveIdentity = {
  /** The code identity (MRENCLAVE-like), 32 bytes. */
  measurement: Uint8Array;
  /** The signer identity (MRSIGNER-like), 32 bytes. */
  signerMeasurement: Uint8Array;
};

/** `measurement`: only this exact build can unseal (default). `signer`: any build by the same signer (upgrades). */
export type SealPolicy = "measurement" | "signer";

/** Wire codes for the policies; 0 is left unused so a zeroed byte never names a policy. */
export const SEAL_POLICY_CODE = { measurement: 1, signer: 2 } as const satisfies Record<SealPolicy, number>;

/**
 * The platforms an enclave bundle can be built for (`anonify enclave build --platform`), one adapter
 * each (src/enclave/platforms/). The choice is in the measured build configuration: a node cannot run
 * a bundle on a platform it was not built for.
 */
export const ENCLAVE_PLATFORMS = ["sim", "tdx", "sev-snp", "gramine-sgx"] as const;
export type EnclavePlatformName = (typeof ENCLAVE_PLATFORMS)[number];

/** The evidence format each platform's quotes are in: what verifiers and the attestation service name. */
export const EVIDENCE_FORMAT = {
  sim: "sim",
  tdx: "tdx",
  "sev-snp": "sev-snp",
  "gramine-sgx": "sgx",
} as const satisfies Record<EnclavePlatformName, string>;

export const isEnclavePlatform = (name: unknown): name is EnclavePlatformName =>
  (ENCLAVE_PLATFORMS as readonly unknown[]).includes(name);

/**
 * How long what a platform seals can be unsealed. `persistent`: by a later process of the same
 * identity (the sim secret file, SGX's sealing keys). `process`: by this process only, because the
 * platform has no sealing key (TDX and SEV-SNP VMs): a restarted enclave gets a new identity and
 * rejoins its group as a new member with a snapshot (docs/architecture.md, "Sealing where the
 * platform has none").
 */
export type SealingScope = "persistent" | "process";

export interface TeePlatform {
  /** The evidence format of its quotes. */
  readonly name: "sim" | "sgx" | "tdx" | "sev-snp" | "nitro";
  /** `persistent` when absent. */
  readonly sealing?: SealingScope;
  /** 32-byte key derived inside from the platform's sealing secret and the policy's identity. */
  sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Promise<Uint8Array>;
  /** Evidence (a quote) whose report data is the given 64 bytes. */
  quote(reportData: Uint8Array, identity: EnclaveIdentity): Promise<Uint8Array>;
  /**
   * The identity this enclave's own evidence names, as verifiers read it (hardware platforms: the
   * measurement its peers compare with theirs). Absent: the caller measures the code itself (sim).
   */
  ownIdentity?(): Promise<EnclaveIdentity>;
}

/** The identity value a policy binds to. */
export function policyIdentity(policy: SealPolicy, identity: EnclaveIdentity): Uint8Array {
  return policy === "measurement" ? identity.measurement : identity.signerMeasurement;
}

/** Throws a TypeError (a caller bug, not bad input from outside) unless both measurements are 32 bytes. */
export function assertEnclaveIdentity(identity: EnclaveIdentity): void {
  if (!(identity.measurement instanceof Uint8Array) || identity.measurement.length !== IDENTITY_BYTES) {
    throw new TypeError(`enclave measurement must be ${IDENTITY_BYTES} bytes`);
  }
  if (
    !(identity.signerMeasurement instanceof Uint8Array) ||
    identity.signerMeasurement.length !== IDENTITY_BYTES
  ) {
    throw new TypeError(`enclave signer measurement must be ${IDENTITY_BYTES} bytes`);
  }
}
