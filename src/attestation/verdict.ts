/** The platforms whose evidence Anonify verifies; the numbers are the contract's `PLATFORM_*`. */
export const Platform = { sim: 0, sgx: 1, tdx: 2, nitro: 3, "sev-snp": 4 } as const;
export type PlatformName = keyof typeof Platform;

/** TCB status as Intel names it; other platforms report `UpToDate` or `Simulated`. */
export const TcbStatus = {
  UpToDate: 0,
  SWHardeningNeeded: 1,
  ConfigurationNeeded: 2,
  ConfigurationAndSWHardeningNeeded: 3,
  OutOfDate: 4,
  OutOfDateConfigurationNeeded: 5,
  Revoked: 6,
  Simulated: 7,
} as const;
export type TcbStatusName = keyof typeof TcbStatus;

/** What a verifier concludes about one piece of evidence that passed every check. */
export type Verdict = {
  platform: PlatformName;
  /**
   * The code identity: MRENCLAVE (SGX), the combined TDX measurement over MRTD, RTMR0-3 and the
   * owner/config registers (TDX, 32 bytes), PCR0 (Nitro), bundle hash (sim); hex, no 0x.
   */
  measurement: string;
  /** The signer identity: MRSIGNER (SGX), MRSIGNERSEAM / zero (TDX), PCR8-or-zero (Nitro), signer key hash (sim). */
  signerMeasurement: string;
  /** Every measurement register the platform reports (e.g. RTMR0..3, PCR0..15), hex. */
  measurements: Record<string, string>;
  debug: boolean;
  /**
   * SEV-SNP: the VM privilege level that asked for the report (0: the guest kernel itself; above: a
   * less privileged part of the VM, whose report is not the guest's own). Policies judge it (maxVmpl).
   */
  vmpl?: number;
  tcbStatus: TcbStatusName;
  advisoryIds: string[];
  /** The TCB's patch levels as the evidence reports them (SEV-SNP: bootloader, tee, snp, microcode, fmc). */
  tcb?: Readonly<Record<string, number>>;
  /** How fresh the collateral the TCB status was judged on is (SGX/TDX: Intel's TCB recovery count). */
  tcbEvaluationDataNumber?: number;
  /** The evidence's report data / user data, hex (64 bytes for SGX/TDX). */
  reportData: string;
  /** When the evidence (or its collateral) says it was produced, if it says. */
  issuedAt?: Date;
  /** The verifier's nonce echoed by the evidence, hex, if the format carries one (Nitro). */
  nonce?: string;
  /** A public key the evidence binds for the relying party, hex, if the format carries one (Nitro). */
  publicKey?: string;
  /**
   * What the verifier could not check with what it was given, said rather than passed over (SEV-SNP:
   * no CRL, so the chain's revocation is unchecked). Absent when there is nothing to say.
   */
  warnings?: string[];
};

/** Evidence that fails verification; `reason` says which check failed, never a secret. */
export class VerificationError extends Error {
  override name = "VerificationError";
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** One verifier per evidence format, all with this shape. `now` is explicit so tests pin it. */
export type VerifyOptions = {
  now: Date;
  /** Collateral (Intel PCS JSON) for SGX/TDX; ignored by the others. */
  collateral?: unknown;
  /**
   * Replaces the pinned root certificate (PEM). Only for tests and private PKIs: callers pass it
   * explicitly, there is no environment variable or default that swaps it.
   */
  rootCertificatePem?: string;
};

export type Verifier = (evidence: Uint8Array, options: VerifyOptions) => Promise<Verdict>;
