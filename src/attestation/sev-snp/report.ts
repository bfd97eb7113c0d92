// AMD SEV-SNP ATTESTATION_REPORT (SEV Secure Nested Paging Firmware ABI Specification, AMD 56860,
// "ATTESTATION_REPORT Structure"), versions 2 to 5: 1184 bytes, integers little-endian.
//
//   0x000 u32 VERSION (2..5)        0x004 u32 GUEST_SVN            0x008 u64 POLICY
//   0x010 16  FAMILY_ID             0x020 16  IMAGE_ID             0x030 u32 VMPL
//   0x034 u32 SIGNATURE_ALGO (1 = ECDSA P-384 with SHA-384)        0x038 u64 CURRENT_TCB
//   0x040 u64 PLATFORM_INFO         0x048 u32 flags: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY,
//                                             bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK, 7 none), rest 0
//   0x04C u32 reserved (0)          0x050 64  REPORT_DATA          0x090 48  MEASUREMENT
//   0x0C0 32  HOST_DATA             0x0E0 48  ID_KEY_DIGEST        0x110 48  AUTHOR_KEY_DIGEST
//   0x140 32  REPORT_ID             0x160 32  REPORT_ID_MA         0x180 u64 REPORTED_TCB
//   0x188 v3+: u8 CPUID_FAM_ID, u8 CPUID_MOD_ID, u8 CPUID_STEP; reserved (0) up to 0x1A0
//   0x1A0 64  CHIP_ID               0x1E0 u64 COMMITTED_TCB
//   0x1E8 u8 CURRENT_BUILD, u8 CURRENT_MINOR, u8 CURRENT_MAJOR, u8 reserved (0)
//   0x1EC u8 COMMITTED_BUILD, u8 COMMITTED_MINOR, u8 COMMITTED_MAJOR, u8 reserved (0)
//   0x1F0 u64 LAUNCH_TCB            0x1F8 v5: u64 LAUNCH_MIT_VECTOR, 0x200 u64 CURRENT_MIT_VECTOR
//   reserved (0) up to 0x2A0 (v2..v4: from 0x1F8; v5: from 0x208)
//   0x2A0 SIGNATURE (512): R (72, little-endian), S (72, little-endian), reserved (0)
// The signature covers bytes 0x000..0x29F. R and S are P-384 scalars (48 bytes): their upper 24
// bytes must be zero. A TCB_VERSION (u64) is kept as its 8 bytes: its layout depends on the product
// (Turin's differs from Milan's and Genoa's), which a v2 report does not name (sev-snp/tcb.ts).
// Every reserved byte must be zero and the size exact, so one report has one encoding.
import { VerificationError } from "../verdict.js";

export const SEV_SNP_REPORT_SIZE = 0x4a0;
export const MIN_REPORT_VERSION = 2;
export const MAX_REPORT_VERSION = 5;
/** Version 3 added the CPUID family, model and stepping; version 5 the mitigation vectors. */
const CPUID_VERSION = 3;
const MITIGATION_VERSION = 5;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384, the only one the ABI defines. */
export const SIGNATURE_ALGO_ECDSA_P384_SHA384 = 1;
/** SIGNING_KEY values: which key signed the report (7 = the report is not signed). */
export const SigningKey = { vcek: 0, vlek: 1 } as const;
export type SigningKeyName = keyof typeof SigningKey;
const SIGNING_KEY_NONE = 7;

/** Byte offsets and sizes. */
export const Offset = {
  version: 0x000,
  guestSvn: 0x004,
  policy: 0x008,
  familyId: 0x010,
  imageId: 0x020,
  vmpl: 0x030,
  signatureAlgorithm: 0x034,
  currentTcb: 0x038,
  platformInfo: 0x040,
  flags: 0x048,
  reserved0: 0x04c,
  reportData: 0x050,
  measurement: 0x090,
  hostData: 0x0c0,
  idKeyDigest: 0x0e0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  cpuid: 0x188,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentVersion: 0x1e8,
  committedVersion: 0x1ec,
  launchTcb: 0x1f0,
  launchMitigations: 0x1f8,
  currentMitigations: 0x200,
  reservedTail: 0x208,
  signature: 0x2a0,
} as const;
const Size = {
  id: 16,
  reportData: 64,
  measurement: 48,
  hostData: 32,
  keyDigest: 48,
  reportId: 32,
  tcb: 8,
  cpuid: 3,
  chipId: 64,
  version: 3,
  /** R and S each take 72 bytes in the report; a P-384 scalar is 48. */
  signatureComponent: 72,
  scalar: 48,
} as const;
const U8_MAX = 0xff;
const FLAG_AUTHOR_KEY = 1 << 0;
const FLAG_MASK_CHIP_KEY = 1 << 1;
const SIGNING_KEY_SHIFT = 2;
const SIGNING_KEY_MASK = 0b111;
/** Flag bits the ABI defines (0..4); the rest must be zero. */
const DEFINED_FLAGS = 0b11111;
/**
 * POLICY (ABI "Guest Policy"): bits 7:0 ABI minor, 15:8 ABI major, 16 SMT, 17 reserved and set,
 * 18 MIGRATE_MA, 19 DEBUG, 20 SINGLE_SOCKET, 21 CXL_ALLOW, 22 MEM_AES_256_XTS, 23 RAPL_DIS,
 * 24 CIPHERTEXT_HIDING, 25 PAGE_SWAP_DISABLE; 63:26 reserved (0). An unknown bit could relax a
 * protection, so a policy that sets one is refused rather than read without it.
 */
export const PolicyBit = { mustBeOne: 17n, migrateMa: 18n, debug: 19n } as const;
const POLICY_DEFINED_BITS = 26n;

/** A TCB_VERSION as reported: its 8 bytes, read with the product's layout (sev-snp/tcb.ts). */
export type TcbBytes = Uint8Array;
export type FirmwareVersion = { major: number; minor: number; build: number };
export type Cpuid = { family: number; model: number; stepping: number };

export type SevSnpReport = {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  currentTcb: TcbBytes;
  platformInfo: bigint;
  authorKeyEnabled: boolean;
  maskChipKey: boolean;
  signingKey: SigningKeyName;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: TcbBytes;
  /** Version 3 and later. */
  cpuid: Cpuid | undefined;
  chipId: Uint8Array;
  committedTcb: TcbBytes;
  currentVersion: FirmwareVersion;
  committedVersion: FirmwareVersion;
  launchTcb: TcbBytes;
  /** Version 5 and later. */
  mitigations: { launch: bigint; current: bigint } | undefined;
  /** The bytes the signature covers (0x000..0x29F). */
  signed: Uint8Array;
  /** The ECDSA signature as r || s, each 48 bytes big-endian (the "raw" form ecdsa.ts verifies). */
  signature: Uint8Array;
};

const fail = (reason: string): never => {
  throw new VerificationError(`sev-snp report: ${reason}`);
};

/** Whether the guest policy allows debugging (the host may then read and change guest memory). */
export const policyAllowsDebug = (policy: bigint): boolean => ((policy >> PolicyBit.debug) & 1n) === 1n;

/** Strict decoding of exactly one report. */
export function decodeSevSnpReport(bytes: Uint8Array): SevSnpReport {
  if (!(bytes instanceof Uint8Array)) fail("must be bytes");
  if (bytes.length !== SEV_SNP_REPORT_SIZE) {
    fail(`is ${bytes.length} bytes, not ${SEV_SNP_REPORT_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (offset: number) => view.getUint32(offset, true);
  const u64 = (offset: number) => view.getBigUint64(offset, true);
  const field = (offset: number, size: number) => bytes.slice(offset, offset + size);
  const zero = (from: number, to: number, what: string) => {
    for (let i = from; i < to; i++) if (bytes[i] !== 0) fail(`${what} (0x${i.toString(16)}) is not zero`);
  };

  const version = u32(Offset.version);
  if (version < MIN_REPORT_VERSION || version > MAX_REPORT_VERSION) {
    fail(`version ${version} is not one of ${MIN_REPORT_VERSION}..${MAX_REPORT_VERSION}`);
  }
  const signatureAlgorithm = u32(Offset.signatureAlgorithm);
  if (signatureAlgorithm !== SIGNATURE_ALGO_ECDSA_P384_SHA384) {
    fail(`signature algorithm ${signatureAlgorithm} is not ECDSA P-384 with SHA-384`);
  }
  const flags = u32(Offset.flags);
  if ((flags & ~DEFINED_FLAGS) !== 0) fail(`flags 0x${flags.toString(16)} set reserved bits`);
  const signingKeyValue = (flags >>> SIGNING_KEY_SHIFT) & SIGNING_KEY_MASK;
  if (signingKeyValue === SIGNING_KEY_NONE) fail("is not signed (SIGNING_KEY 7)");
  const signingKey = (Object.keys(SigningKey) as SigningKeyName[]).find(
    (k) => SigningKey[k] === signingKeyValue,
  );
  if (signingKey === undefined) fail(`signing key ${signingKeyValue} is reserved`);
  zero(Offset.reserved0, Offset.reportData, "reserved word");
  const policy = u64(Offset.policy);
  if (((policy >> PolicyBit.mustBeOne) & 1n) !== 1n) fail(`policy bit ${PolicyBit.mustBeOne} must be set`);
  if (policy >> POLICY_DEFINED_BITS !== 0n) {
    fail(`policy 0x${policy.toString(16)} sets bits above ${POLICY_DEFINED_BITS - 1n} that are reserved`);
  }

  const hasCpuid = version >= CPUID_VERSION;
  zero(
    hasCpuid ? Offset.cpuid + Size.cpuid : Offset.cpuid,
    Offset.chipId,
    "reserved bytes after REPORTED_TCB",
  );
  zero(Offset.currentVersion + Size.version, Offset.committedVersion, "reserved byte of CURRENT_VERSION");
  zero(Offset.committedVersion + Size.version, Offset.launchTcb, "reserved byte of COMMITTED_VERSION");
  const hasMitigations = version >= MITIGATION_VERSION;
  zero(hasMitigations ? Offset.reservedTail : Offset.launchMitigations, Offset.signature, "reserved tail");

  const r = bytes.subarray(Offset.signature, Offset.signature + Size.signatureComponent);
  const s = bytes.subarray(
    Offset.signature + Size.signatureComponent,
    Offset.signature + 2 * Size.signatureComponent,
  );
  zero(Offset.signature + Size.scalar, Offset.signature + Size.signatureComponent, "upper bytes of R");
  zero(
    Offset.signature + Size.signatureComponent + Size.scalar,
    Offset.signature + 2 * Size.signatureComponent,
    "upper bytes of S",
  );
  zero(Offset.signature + 2 * Size.signatureComponent, SEV_SNP_REPORT_SIZE, "reserved signature bytes");
  const signature = new Uint8Array(2 * Size.scalar);
  signature.set(r.slice(0, Size.scalar).reverse(), 0);
  signature.set(s.slice(0, Size.scalar).reverse(), Size.scalar);

  const firmwareVersion = (offset: number): FirmwareVersion => ({
    build: bytes[offset]!,
    minor: bytes[offset + 1]!,
    major: bytes[offset + 2]!,
  });
  return {
    version,
    guestSvn: u32(Offset.guestSvn),
    policy,
    familyId: field(Offset.familyId, Size.id),
    imageId: field(Offset.imageId, Size.id),
    vmpl: u32(Offset.vmpl),
    currentTcb: field(Offset.currentTcb, Size.tcb),
    platformInfo: u64(Offset.platformInfo),
    authorKeyEnabled: (flags & FLAG_AUTHOR_KEY) !== 0,
    maskChipKey: (flags & FLAG_MASK_CHIP_KEY) !== 0,
    signingKey: signingKey!,
    reportData: field(Offset.reportData, Size.reportData),
    measurement: field(Offset.measurement, Size.measurement),
    hostData: field(Offset.hostData, Size.hostData),
    idKeyDigest: field(Offset.idKeyDigest, Size.keyDigest),
    authorKeyDigest: field(Offset.authorKeyDigest, Size.keyDigest),
    reportId: field(Offset.reportId, Size.reportId),
    reportIdMa: field(Offset.reportIdMa, Size.reportId),
    reportedTcb: field(Offset.reportedTcb, Size.tcb),
    cpuid: hasCpuid
      ? { family: bytes[Offset.cpuid]!, model: bytes[Offset.cpuid + 1]!, stepping: bytes[Offset.cpuid + 2]! }
      : undefined,
    chipId: field(Offset.chipId, Size.chipId),
    committedTcb: field(Offset.committedTcb, Size.tcb),
    currentVersion: firmwareVersion(Offset.currentVersion),
    committedVersion: firmwareVersion(Offset.committedVersion),
    launchTcb: field(Offset.launchTcb, Size.tcb),
    mitigations: hasMitigations
      ? { launch: u64(Offset.launchMitigations), current: u64(Offset.currentMitigations) }
      : undefined,
    signed: bytes.slice(0, Offset.signature),
    signature,
  };
}

/**
 * The report's bytes (the inverse of decodeSevSnpReport; `signed` is not read, the fields are).
 * Throws when a field does not fit its place, or the version and optional parts disagree.
 */
export function encodeSevSnpReport(report: Omit<SevSnpReport, "signed">): Uint8Array {
  const bytes = new Uint8Array(SEV_SNP_REPORT_SIZE);
  const view = new DataView(bytes.buffer);
  const put = (offset: number, value: Uint8Array, size: number, what: string) => {
    if (value.length !== size) fail(`${what} must be ${size} bytes`);
    bytes.set(value, offset);
  };
  if (report.version < MIN_REPORT_VERSION || report.version > MAX_REPORT_VERSION) {
    fail(`version ${report.version} is not one of ${MIN_REPORT_VERSION}..${MAX_REPORT_VERSION}`);
  }
  if ((report.cpuid !== undefined) !== report.version >= CPUID_VERSION) {
    fail(`CPUID is present from version ${CPUID_VERSION} on, and only then`);
  }
  if ((report.mitigations !== undefined) !== report.version >= MITIGATION_VERSION) {
    fail(`the mitigation vectors are present from version ${MITIGATION_VERSION} on, and only then`);
  }
  view.setUint32(Offset.version, report.version, true);
  view.setUint32(Offset.guestSvn, report.guestSvn, true);
  view.setBigUint64(Offset.policy, report.policy, true);
  put(Offset.familyId, report.familyId, Size.id, "FAMILY_ID");
  put(Offset.imageId, report.imageId, Size.id, "IMAGE_ID");
  view.setUint32(Offset.vmpl, report.vmpl, true);
  view.setUint32(Offset.signatureAlgorithm, SIGNATURE_ALGO_ECDSA_P384_SHA384, true);
  put(Offset.currentTcb, report.currentTcb, Size.tcb, "CURRENT_TCB");
  view.setBigUint64(Offset.platformInfo, report.platformInfo, true);
  const flags =
    (report.authorKeyEnabled ? FLAG_AUTHOR_KEY : 0) |
    (report.maskChipKey ? FLAG_MASK_CHIP_KEY : 0) |
    (SigningKey[report.signingKey] << SIGNING_KEY_SHIFT);
  view.setUint32(Offset.flags, flags, true);
  put(Offset.reportData, report.reportData, Size.reportData, "REPORT_DATA");
  put(Offset.measurement, report.measurement, Size.measurement, "MEASUREMENT");
  put(Offset.hostData, report.hostData, Size.hostData, "HOST_DATA");
  put(Offset.idKeyDigest, report.idKeyDigest, Size.keyDigest, "ID_KEY_DIGEST");
  put(Offset.authorKeyDigest, report.authorKeyDigest, Size.keyDigest, "AUTHOR_KEY_DIGEST");
  put(Offset.reportId, report.reportId, Size.reportId, "REPORT_ID");
  put(Offset.reportIdMa, report.reportIdMa, Size.reportId, "REPORT_ID_MA");
  put(Offset.reportedTcb, report.reportedTcb, Size.tcb, "REPORTED_TCB");
  const octets = (values: number[], offset: number, what: string) => {
    if (values.some((v) => !Number.isInteger(v) || v < 0 || v > U8_MAX)) fail(`${what} must be bytes`);
    bytes.set(values, offset);
  };
  if (report.cpuid) {
    octets([report.cpuid.family, report.cpuid.model, report.cpuid.stepping], Offset.cpuid, "CPUID");
  }
  put(Offset.chipId, report.chipId, Size.chipId, "CHIP_ID");
  put(Offset.committedTcb, report.committedTcb, Size.tcb, "COMMITTED_TCB");
  const version = (v: FirmwareVersion): number[] => [v.build, v.minor, v.major];
  octets(version(report.currentVersion), Offset.currentVersion, "CURRENT_VERSION");
  octets(version(report.committedVersion), Offset.committedVersion, "COMMITTED_VERSION");
  put(Offset.launchTcb, report.launchTcb, Size.tcb, "LAUNCH_TCB");
  if (report.mitigations) {
    view.setBigUint64(Offset.launchMitigations, report.mitigations.launch, true);
    view.setBigUint64(Offset.currentMitigations, report.mitigations.current, true);
  }
  if (report.signature.length !== 2 * Size.scalar) fail(`signature must be ${2 * Size.scalar} bytes`);
  bytes.set(report.signature.slice(0, Size.scalar).reverse(), Offset.signature);
  bytes.set(report.signature.slice(Size.scalar).reverse(), Offset.signature + Size.signatureComponent);
  return bytes;
}
