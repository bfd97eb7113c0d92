// Test-only: TDX quotes v4 (and SGX quotes v3, makeSgxQuote) in the real format (layout.ts), signed by a test PKI (test-pki.ts), with
// the report data and the TD's registers the test chooses:
//   header (48) | TD report 1.0 (584) | auth data size (u32) | auth data v4:
//   quote signature (64) | attestation key X || Y (64) | certification data type 6 (u16) | size (u32) |
//     QE report (384) | QE report signature (64) | QE auth data size (u16) | QE auth data |
//     certification data type 5 (u16) | size (u32) | PCK chain PEM
// The attestation key signs header || body; the PCK key signs the QE report, whose report data is
// SHA-256(attestation key || QE auth data) followed by 32 zero bytes.
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { fromHex } from "./bytes.js";
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  CERT_DATA_TYPE_PCK_CHAIN,
  CERT_DATA_TYPE_QE_REPORT,
  ECDSA_P256_PUBLIC_KEY_SIZE,
  ECDSA_P256_SIGNATURE_SIZE,
  EnclaveReport,
  Header,
  INTEL_QE_VENDOR_ID,
  QUOTE_VERSION_SGX,
  QUOTE_VERSION_TDX,
  SGX_ATTRIBUTE_DEBUG,
  TDX_ATTRIBUTE_DEBUG,
  TdReport10,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
} from "./layout.js";
import { signRaw, type TdxTestPki, TEST_PLATFORM } from "./test-pki.js";

/** TD_ATTRIBUTES byte 3 bit 4: SEPT_VE_DISABLE, which the verifiers require. */
const TD_ATTRIBUTES_SEPT_VE_DISABLE = Uint8Array.from([0, 0, 0, 0x10, 0, 0, 0, 0]);
/** XFAM as the real sample has it (x87, SSE, AVX, AVX-512, PK, AMX state). */
const XFAM = Uint8Array.from([0xe7, 0x02, 0x06, 0, 0, 0, 0, 0]);
const QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);
const U16 = 2;
const U32 = 4;

/** The TD's registers (48 bytes each); what is left out is zero. */
export type TdRegisters = {
  mrTd: Uint8Array;
  rtmr?: readonly Uint8Array[];
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  mrOwnerConfig?: Uint8Array;
  /** A TD launched with TUD.DEBUG set: its memory is open to the host. */
  debug?: boolean;
};

class Writer {
  readonly bytes: Uint8Array;
  #at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
  put(bytes: Uint8Array, at = this.#at): this {
    this.bytes.set(bytes, at);
    this.#at = Math.max(this.#at, at + bytes.length);
    return this;
  }
  u16(value: number, at?: number): this {
    const b = new Uint8Array(U16);
    new DataView(b.buffer).setUint16(0, value, true);
    return this.put(b, at);
  }
  u32(value: number, at?: number): this {
    const b = new Uint8Array(U32);
    new DataView(b.buffer).setUint32(0, value, true);
    return this.put(b, at);
  }
}

function header(): Uint8Array {
  return new Writer(Header.size)
    .u16(QUOTE_VERSION_TDX, Header.version)
    .u16(ATTESTATION_KEY_TYPE_ECDSA_P256, Header.attestationKeyType)
    .u32(TEE_TYPE_TDX, Header.teeType)
    .put(fromHex(INTEL_QE_VENDOR_ID)!, Header.qeVendorId).bytes;
}

function tdReport(reportData: Uint8Array, td: TdRegisters): Uint8Array {
  const R = TdReport10;
  const attributes = TD_ATTRIBUTES_SEPT_VE_DISABLE.slice();
  if (td.debug) attributes[0]! |= TDX_ATTRIBUTE_DEBUG;
  const w = new Writer(R.size)
    .put(TEST_PLATFORM.teeTcbSvn, R.teeTcbSvn)
    // MRSEAM: some module's hash; MRSIGNERSEAM stays zero (Intel's module), as the TCB info lists it.
    .put(sha384(new TextEncoder().encode("test TDX module")), R.mrSeam)
    .put(attributes, R.tdAttributes)
    .put(XFAM, R.xfam)
    .put(td.mrTd, R.mrTd)
    .put(reportData, R.reportData);
  const registers = [R.rtmr0, R.rtmr1, R.rtmr2, R.rtmr3];
  for (const [i, rtmr] of (td.rtmr ?? []).entries()) w.put(rtmr, registers[i]);
  if (td.mrConfigId) w.put(td.mrConfigId, R.mrConfigId);
  if (td.mrOwner) w.put(td.mrOwner, R.mrOwner);
  if (td.mrOwnerConfig) w.put(td.mrOwnerConfig, R.mrOwnerConfig);
  return w.bytes;
}

/** The QE's report: TEST_PLATFORM's QE, binding the attestation key and the QE auth data. */
function qeReport(pki: TdxTestPki): Uint8Array {
  const R = EnclaveReport;
  const { qe } = TEST_PLATFORM;
  const binding = sha256.create().update(pki.attestationPublicKey).update(QE_AUTH_DATA).digest();
  return new Writer(R.size)
    .put(fromHex(qe.attributes)!, R.attributes)
    .put(fromHex(qe.mrSigner)!, R.mrSigner)
    .u16(qe.isvProdId, R.isvProdId)
    .u16(qe.isvSvn, R.isvSvn)
    .put(binding, R.reportData).bytes;
}

/** A TDX quote v4 for `reportData` (64 bytes) from a TD with these registers, signed by `pki`. */
export async function makeTdxQuote(
  pki: TdxTestPki,
  reportData: Uint8Array,
  td: TdRegisters,
): Promise<Uint8Array> {
  if (reportData.length !== TdReport10.reportDataSize) throw new TypeError("report data must be 64 bytes");
  const signed = new Writer(Header.size + TdReport10.size).put(header()).put(tdReport(reportData, td)).bytes;
  const inner = await qeCertification(pki);
  const auth = new Writer(ECDSA_P256_SIGNATURE_SIZE + ECDSA_P256_PUBLIC_KEY_SIZE + U16 + U32 + inner.length)
    .put(await signRaw(pki.attestationKey, signed))
    .put(pki.attestationPublicKey)
    .u16(CERT_DATA_TYPE_QE_REPORT)
    .u32(inner.length)
    .put(inner).bytes;
  return new Writer(signed.length + U32 + auth.length).put(signed).u32(auth.length).put(auth).bytes;
}

/** QE report | its PCK signature | QE auth data | the PCK chain (certification data type 5). */
async function qeCertification(pki: TdxTestPki): Promise<Uint8Array> {
  const qe = qeReport(pki);
  const chain = new TextEncoder().encode(pki.pckChainPem);
  return new Writer(
    qe.length + ECDSA_P256_SIGNATURE_SIZE + U16 + QE_AUTH_DATA.length + U16 + U32 + chain.length,
  )
    .put(qe)
    .put(await signRaw(pki.pckKey, qe))
    .u16(QE_AUTH_DATA.length)
    .put(QE_AUTH_DATA)
    .u16(CERT_DATA_TYPE_PCK_CHAIN)
    .u32(chain.length)
    .put(chain).bytes;
}

/** An SGX enclave's identity as its report names it (32 bytes each); a debug enclave's memory is open. */
export type SgxEnclave = { mrEnclave: Uint8Array; mrSigner: Uint8Array; debug?: boolean };

/** SGX ATTRIBUTES.FLAGS: INIT | MODE64BIT; XFRM: x87 | SSE (the least an enclave has). */
const SGX_FLAGS = 0x05;
const SGX_XFRM = 0x03;
const XFRM_OFFSET = 8;

/**
 * An SGX quote v3 for `reportData` from this enclave, signed by `pki` (its collateral must be the
 * SGX flavour: `makeTdxTestPki({ tee: "sgx" })`). v3's auth data is v4's without the type-6 wrapper:
 *   quote signature (64) | attestation key (64) | QE report | ... | PCK chain (type 5)
 */
export async function makeSgxQuote(
  pki: TdxTestPki,
  reportData: Uint8Array,
  enclave: SgxEnclave,
): Promise<Uint8Array> {
  const R = EnclaveReport;
  if (reportData.length !== R.reportDataSize) throw new TypeError("report data must be 64 bytes");
  const attributes = new Uint8Array(R.attributesSize);
  attributes[0] = SGX_FLAGS | (enclave.debug ? SGX_ATTRIBUTE_DEBUG : 0);
  attributes[XFRM_OFFSET] = SGX_XFRM;
  const head = new Writer(Header.size)
    .u16(QUOTE_VERSION_SGX, Header.version)
    .u16(ATTESTATION_KEY_TYPE_ECDSA_P256, Header.attestationKeyType)
    .u32(TEE_TYPE_SGX, Header.teeType)
    .put(fromHex(INTEL_QE_VENDOR_ID)!, Header.qeVendorId).bytes;
  const body = new Writer(R.size)
    .put(TEST_PLATFORM.cpuSvn, R.cpuSvn)
    .put(attributes, R.attributes)
    .put(enclave.mrEnclave, R.mrEnclave)
    .put(enclave.mrSigner, R.mrSigner)
    .put(reportData, R.reportData).bytes;
  const signed = new Writer(Header.size + R.size).put(head).put(body).bytes;
  const inner = await qeCertification(pki);
  const auth = new Writer(ECDSA_P256_SIGNATURE_SIZE + ECDSA_P256_PUBLIC_KEY_SIZE + inner.length)
    .put(await signRaw(pki.attestationKey, signed))
    .put(pki.attestationPublicKey)
    .put(inner).bytes;
  return new Writer(signed.length + U32 + auth.length).put(signed).u32(auth.length).put(auth).bytes;
}
