// The seam between enclave code and the TEE it runs on. Everything in src/enclave runs inside the enclave
// process; a platform gives it exactly two things the host cannot: a sealing key and a quote.

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

export interface TeePlatform {
  readonly name: "sim" | "sgx" | "tdx" | "nitro";
  /** 32-byte key derived inside from the platform's sealing secret and the policy's identity. */
  sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Promise<Uint8Array>;
  /** Evidence (a quote) whose report data is the given 64 bytes. */
  quote(reportData: Uint8Array, identity: EnclaveIdentity): Promise<Uint8Array>;
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
