// Byte layout of Intel DCAP ECDSA quotes (Intel SGX ECDSA Quote Library API, appendix A, quote v3;
// Intel TDX DCAP Quoting Library API, appendix A, quotes v4 and v5). All integers are little-endian.
//
//   v3 (SGX):  header (48) | enclave report (384)               | auth data size (4) | auth data v3
//   v4 (TDX):  header (48) | TD report 1.0 (584)                | auth data size (4) | auth data v4
//   v5 (TDX):  header (48) | body descriptor (6) | TD report    | auth data size (4) | auth data v4
//              descriptor = body type (u16: 2 = TD report 1.0, 3 = TD report 1.5) | body size (u32)
//              TD report 1.5 (648) = TD report 1.0 (584) | TEE_TCB_SVN2 (16) | MRSERVICETD (48)
// The attestation key signs everything before the auth data size (for v5, the descriptor included).

export const QUOTE_VERSION_SGX = 3;
export const QUOTE_VERSION_TDX = 4;
/** Quote v5 (TDX 1.5): a body descriptor names the report body's type and size. */
export const QUOTE_VERSION_TDX15 = 5;
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
/** Attestation key type 2: ECDSA-256 with P-256 (type 3, P-384, is reserved and unused by Intel). */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
/** Intel's QE vendor ID 939A7233-F79C-4CA9-940A-0DB3957F0607: quotes from other QEs are not Intel's. */
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

/** Quote header: 48 bytes. */
export const Header = {
  size: 48,
  version: 0,
  attestationKeyType: 2,
  teeType: 4,
  qeSvn: 8,
  pceSvn: 10,
  qeVendorId: 12,
  qeVendorIdSize: 16,
  userData: 28,
  userDataSize: 20,
} as const;

/** SGX enclave report body (also the QE report): 384 bytes. */
export const EnclaveReport = {
  size: 384,
  cpuSvn: 0,
  cpuSvnSize: 16,
  miscSelect: 16,
  attributes: 48,
  attributesSize: 16,
  mrEnclave: 64,
  mrSigner: 128,
  measurementSize: 32,
  isvProdId: 256,
  isvSvn: 258,
  reportData: 320,
  reportDataSize: 64,
} as const;

/** SGX ATTRIBUTES.DEBUG is bit 1 of the first (flags) byte. */
export const SGX_ATTRIBUTE_DEBUG = 0x02;

/** TDX TD report body v1.0: 584 bytes; every measurement register is SHA-384 (48 bytes). */
export const TdReport10 = {
  size: 584,
  teeTcbSvn: 0,
  teeTcbSvnSize: 16,
  mrSeam: 16,
  mrSignerSeam: 64,
  seamAttributes: 112,
  tdAttributes: 120,
  attributesSize: 8,
  xfam: 128,
  mrTd: 136,
  mrConfigId: 184,
  mrOwner: 232,
  mrOwnerConfig: 280,
  rtmr0: 328,
  rtmr1: 376,
  rtmr2: 424,
  rtmr3: 472,
  registerSize: 48,
  reportData: 520,
  reportDataSize: 64,
} as const;

/** TDX TD report body v1.5 (quote v5, body type 3): v1.0 followed by two fields. */
export const TdReport15 = {
  size: 648,
  /** The SVNs of the TDX module running now; TEE_TCB_SVN is the one the TD was launched under. */
  teeTcbSvn2: 584,
  teeTcbSvn2Size: 16,
  /** The service TD the TD is bound to; zero when it is bound to none. */
  mrServiceTd: 600,
} as const;

/** The quote v5 body descriptor, between the header and the report body. */
export const BodyDescriptor = {
  size: 6,
  type: 0,
  bodySize: 2,
} as const;
/** Body type 1 (an SGX enclave report) exists in v5 too, but SGX quotes are accepted as v3 only. */
export const BODY_TYPE_TD_REPORT10 = 2;
export const BODY_TYPE_TD_REPORT15 = 3;

/** TDX TD_ATTRIBUTES.DEBUG (TUD.DEBUG) is bit 0 of the first byte. */
export const TDX_ATTRIBUTE_DEBUG = 0x01;
/** TEE_TCB_SVN byte 0 is the TDX module's ISV SVN, byte 1 its major version (0 = TDX 1.0 module). */
export const TEE_TCB_SVN_MODULE_ISVSVN = 0;
export const TEE_TCB_SVN_MODULE_VERSION = 1;

export const AUTH_DATA_SIZE_FIELD = 4;
export const ECDSA_P256_SIGNATURE_SIZE = 64;
/** Raw X || Y of the attestation public key. */
export const ECDSA_P256_PUBLIC_KEY_SIZE = 64;
export const QE_AUTH_DATA_SIZE_FIELD = 2;
export const CERT_DATA_SIZE_FIELD = 4;
/** Certification data type 5: the PCK certificate chain, PEM, leaf first. */
export const CERT_DATA_TYPE_PCK_CHAIN = 5;
/** Certification data type 6 (quote v4): QE report certification data wrapping a type-5 chain. */
export const CERT_DATA_TYPE_QE_REPORT = 6;
/** QE report data = SHA-256(attestation key || QE auth data) followed by 32 zero bytes. */
export const QE_REPORT_DATA_HASH_SIZE = 32;
