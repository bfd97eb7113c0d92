// Strict parser for DCAP quotes: SGX quote v3 and TDX quotes v4 and v5 (body descriptor, TD report
// 1.0 or 1.5; see layout.ts), attestation key ECDSA P-256,
// PCK certificate chain embedded (certification data type 5). Every length field must agree with the
// bytes present: no truncation, no trailing bytes at any level (except zero padding after the whole
// auth data, which real TDX quote buffers carry). Parsing checks structure only;
// verify.ts checks signatures and bindings.
import { VerificationError } from "../verdict.js";
import { isAllZero, latin1, readU16LE, readU32LE, toHex } from "./bytes.js";
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  AUTH_DATA_SIZE_FIELD,
  BODY_TYPE_TD_REPORT10,
  BODY_TYPE_TD_REPORT15,
  BodyDescriptor,
  CERT_DATA_SIZE_FIELD,
  CERT_DATA_TYPE_PCK_CHAIN,
  CERT_DATA_TYPE_QE_REPORT,
  ECDSA_P256_PUBLIC_KEY_SIZE,
  ECDSA_P256_SIGNATURE_SIZE,
  EnclaveReport,
  Header,
  QE_AUTH_DATA_SIZE_FIELD,
  QUOTE_VERSION_SGX,
  QUOTE_VERSION_TDX,
  QUOTE_VERSION_TDX15,
  TdReport10,
  TdReport15,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
} from "./layout.js";

export type QuoteHeader = {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  /** Lowercase hex. */
  qeVendorId: string;
  userData: Uint8Array;
};

export type EnclaveReportBody = {
  kind: "sgx";
  cpuSvn: Uint8Array;
  miscSelect: number;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
};

type TdReport10Fields = {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
};

/** A TD report 1.0 (quote v4, or v5 body type 2) or 1.5 (quote v5 body type 3). */
export type TdReportBody = TdReport10Fields &
  ({ kind: "td10" } | { kind: "td15"; teeTcbSvn2: Uint8Array; mrServiceTd: Uint8Array });

export type ParsedQuote = {
  header: QuoteHeader;
  body: EnclaveReportBody | TdReportBody;
  /** Header and body: the bytes the attestation key signs. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** Raw X || Y of the P-256 attestation key. */
  attestationKey: Uint8Array;
  /** The QE's own report (signed by the PCK key), raw and parsed. */
  qeReport: Uint8Array;
  qeReportBody: EnclaveReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK certificate chain, PEM text, leaf first. */
  pckChainPem: string;
};

const U16_SIZE = 2;
const U32_SIZE = 4;

/** Bounds-checked sequential reader; every overrun is a VerificationError naming the field. */
class Reader {
  private offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly context: string,
  ) {}

  take(size: number, field: string): Uint8Array {
    if (size < 0 || this.offset + size > this.bytes.length) {
      throw new VerificationError(`${this.context}: truncated at ${field}`);
    }
    const out = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += size;
    return out;
  }

  u16(field: string): number {
    return readU16LE(this.take(U16_SIZE, field), 0)!;
  }

  u32(field: string): number {
    return readU32LE(this.take(U32_SIZE, field), 0)!;
  }

  /** A blob prefixed by its little-endian size (a 2- or 4-byte field). */
  sized(sizeField: typeof U16_SIZE | typeof U32_SIZE, field: string): Uint8Array {
    const size = sizeField === U16_SIZE ? this.u16(`${field} size`) : this.u32(`${field} size`);
    return this.take(size, field);
  }

  get position(): number {
    return this.offset;
  }

  end(): void {
    if (this.offset !== this.bytes.length) throw new VerificationError(`${this.context}: trailing bytes`);
  }

  /** Real TDX quotes arrive in fixed-size buffers: zero padding after the auth data is tolerated. */
  endAllowingZeroPadding(): void {
    if (!isAllZero(this.bytes.subarray(this.offset))) {
      throw new VerificationError(`${this.context}: trailing bytes`);
    }
  }
}

export function parseQuote(evidence: Uint8Array): ParsedQuote {
  if (!(evidence instanceof Uint8Array)) throw new VerificationError("quote: evidence must be bytes");
  const reader = new Reader(evidence, "quote");
  const header = parseHeader(reader.take(Header.size, "header"));
  let body: EnclaveReportBody | TdReportBody;
  if (header.version === QUOTE_VERSION_SGX && header.teeType === TEE_TYPE_SGX) {
    body = parseEnclaveReport(reader.take(EnclaveReport.size, "report body"));
  } else if (header.version === QUOTE_VERSION_TDX && header.teeType === TEE_TYPE_TDX) {
    body = parseTdReport(reader.take(TdReport10.size, "TD report body"));
  } else if (header.version === QUOTE_VERSION_TDX15 && header.teeType === TEE_TYPE_TDX) {
    body = parseV5Body(reader);
  } else {
    throw new VerificationError(
      `quote: unsupported version ${header.version} / TEE type 0x${header.teeType.toString(16)}`,
    );
  }
  if (header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new VerificationError(`quote: unsupported attestation key type ${header.attestationKeyType}`);
  }
  // Everything read so far (header, v5 descriptor, body) is what the attestation key signs.
  const signedBytes = evidence.subarray(0, reader.position);
  const authData = reader.sized(AUTH_DATA_SIZE_FIELD, "auth data");
  reader.endAllowingZeroPadding();
  const auth = body.kind === "sgx" ? parseAuthDataV3(authData) : parseAuthDataV4(authData);
  return { header, body, signedBytes, ...auth };
}

function parseHeader(bytes: Uint8Array): QuoteHeader {
  return {
    version: readU16LE(bytes, Header.version)!,
    attestationKeyType: readU16LE(bytes, Header.attestationKeyType)!,
    teeType: readU32LE(bytes, Header.teeType)!,
    qeSvn: readU16LE(bytes, Header.qeSvn)!,
    pceSvn: readU16LE(bytes, Header.pceSvn)!,
    qeVendorId: toHex(bytes.subarray(Header.qeVendorId, Header.qeVendorId + Header.qeVendorIdSize)),
    userData: bytes.subarray(Header.userData, Header.userData + Header.userDataSize),
  };
}

export function parseEnclaveReport(bytes: Uint8Array): EnclaveReportBody {
  const R = EnclaveReport;
  if (bytes.length !== R.size) throw new VerificationError("quote: enclave report has the wrong size");
  return {
    kind: "sgx",
    cpuSvn: bytes.subarray(R.cpuSvn, R.cpuSvn + R.cpuSvnSize),
    miscSelect: readU32LE(bytes, R.miscSelect)!,
    attributes: bytes.subarray(R.attributes, R.attributes + R.attributesSize),
    mrEnclave: bytes.subarray(R.mrEnclave, R.mrEnclave + R.measurementSize),
    mrSigner: bytes.subarray(R.mrSigner, R.mrSigner + R.measurementSize),
    isvProdId: readU16LE(bytes, R.isvProdId)!,
    isvSvn: readU16LE(bytes, R.isvSvn)!,
    reportData: bytes.subarray(R.reportData, R.reportData + R.reportDataSize),
  };
}

/**
 * Quote v5: the descriptor's type picks TD report 1.0 or 1.5, and its size must be that body's size
 * exactly (as Intel's QVL requires; dcap-qvl 0.3.9 reads the size but never checks it).
 */
function parseV5Body(reader: Reader): TdReportBody {
  const descriptor = reader.take(BodyDescriptor.size, "body descriptor");
  const type = readU16LE(descriptor, BodyDescriptor.type)!;
  const size = readU32LE(descriptor, BodyDescriptor.bodySize)!;
  const expected =
    type === BODY_TYPE_TD_REPORT10 ? TdReport10.size : type === BODY_TYPE_TD_REPORT15 ? TdReport15.size : 0;
  if (expected === 0) throw new VerificationError(`quote: unsupported TDX body type ${type}`);
  if (size !== expected) {
    throw new VerificationError(`quote: body type ${type} declares size ${size}, expected ${expected}`);
  }
  const bytes = reader.take(size, "TD report body");
  const base = parseTdReport(bytes.subarray(0, TdReport10.size));
  if (type === BODY_TYPE_TD_REPORT10) return base;
  const R = TdReport15;
  return {
    ...base,
    kind: "td15",
    teeTcbSvn2: bytes.subarray(R.teeTcbSvn2, R.teeTcbSvn2 + R.teeTcbSvn2Size),
    mrServiceTd: bytes.subarray(R.mrServiceTd, R.mrServiceTd + TdReport10.registerSize),
  };
}

function parseTdReport(bytes: Uint8Array): TdReport10Fields & { kind: "td10" } {
  const R = TdReport10;
  const register = (offset: number) => bytes.subarray(offset, offset + R.registerSize);
  return {
    kind: "td10",
    teeTcbSvn: bytes.subarray(R.teeTcbSvn, R.teeTcbSvn + R.teeTcbSvnSize),
    mrSeam: register(R.mrSeam),
    mrSignerSeam: register(R.mrSignerSeam),
    seamAttributes: bytes.subarray(R.seamAttributes, R.seamAttributes + R.attributesSize),
    tdAttributes: bytes.subarray(R.tdAttributes, R.tdAttributes + R.attributesSize),
    xfam: bytes.subarray(R.xfam, R.xfam + R.attributesSize),
    mrTd: register(R.mrTd),
    mrConfigId: register(R.mrConfigId),
    mrOwner: register(R.mrOwner),
    mrOwnerConfig: register(R.mrOwnerConfig),
    rtmr: [register(R.rtmr0), register(R.rtmr1), register(R.rtmr2), register(R.rtmr3)],
    reportData: bytes.subarray(R.reportData, R.reportData + R.reportDataSize),
  };
}

type AuthData = Pick<
  ParsedQuote,
  | "signature"
  | "attestationKey"
  | "qeReport"
  | "qeReportBody"
  | "qeReportSignature"
  | "qeAuthData"
  | "pckChainPem"
>;

/** v3: signature, key, QE report, its signature, QE auth data, then the certification data. */
function parseAuthDataV3(bytes: Uint8Array): AuthData {
  const reader = new Reader(bytes, "quote auth data");
  const signature = reader.take(ECDSA_P256_SIGNATURE_SIZE, "quote signature");
  const attestationKey = reader.take(ECDSA_P256_PUBLIC_KEY_SIZE, "attestation key");
  const qe = parseQeSection(reader);
  reader.end();
  return { signature, attestationKey, ...qe };
}

/** v4: signature, key, then certification data type 6 whose body is the v3 QE section. */
function parseAuthDataV4(bytes: Uint8Array): AuthData {
  const reader = new Reader(bytes, "quote auth data");
  const signature = reader.take(ECDSA_P256_SIGNATURE_SIZE, "quote signature");
  const attestationKey = reader.take(ECDSA_P256_PUBLIC_KEY_SIZE, "attestation key");
  const type = reader.u16("certification data type");
  if (type !== CERT_DATA_TYPE_QE_REPORT) {
    throw new VerificationError(
      `quote: certification data type ${type}, expected ${CERT_DATA_TYPE_QE_REPORT}`,
    );
  }
  const inner = new Reader(
    reader.sized(CERT_DATA_SIZE_FIELD, "QE report certification data"),
    "quote QE data",
  );
  reader.end();
  const qe = parseQeSection(inner);
  inner.end();
  return { signature, attestationKey, ...qe };
}

function parseQeSection(reader: Reader): Omit<AuthData, "signature" | "attestationKey"> {
  const qeReport = reader.take(EnclaveReport.size, "QE report");
  const qeReportSignature = reader.take(ECDSA_P256_SIGNATURE_SIZE, "QE report signature");
  const qeAuthData = reader.sized(QE_AUTH_DATA_SIZE_FIELD, "QE auth data");
  const type = reader.u16("PCK certification data type");
  if (type !== CERT_DATA_TYPE_PCK_CHAIN) {
    // Types 1-4 need the PCK certificate fetched from a PCCS; we only accept self-contained quotes.
    throw new VerificationError(
      `quote: PCK certification data type ${type}, expected ${CERT_DATA_TYPE_PCK_CHAIN}`,
    );
  }
  const chain = reader.sized(CERT_DATA_SIZE_FIELD, "PCK chain");
  return {
    qeReport,
    qeReportBody: parseEnclaveReport(qeReport),
    qeReportSignature,
    qeAuthData,
    pckChainPem: latin1(chain),
  };
}
