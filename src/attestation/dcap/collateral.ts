// The collateral a DCAP quote is judged against, in the JSON shape of Intel PCS / PCCS answers as
// @phala/dcap-qvl's fetcher returns them (and as /work/shared/vectors/sgx-dcap/*_collateral.json holds
// them): PEM issuer chains, DER CRLs and raw signatures as hex (or byte arrays), TCB info and QE
// identity as the exact JSON text Intel signed. Everything is validated here, before any use.
import { VerificationError } from "../verdict.js";
import { fromHex } from "./bytes.js";

export type Collateral = {
  pckCrlIssuerChain: string;
  rootCaCrl: Uint8Array;
  pckCrl: Uint8Array;
  tcbInfoIssuerChain: string;
  /** The exact signed text; `tcbInfo` is its parse. */
  tcbInfoText: string;
  tcbInfoSignature: Uint8Array;
  tcbInfo: TcbInfoHead;
  qeIdentityIssuerChain: string;
  qeIdentityText: string;
  qeIdentitySignature: Uint8Array;
  qeIdentity: QeIdentityHead;
};

/** The TCB info fields this module checks itself; TCB levels are matched by @phala/dcap-qvl. */
export type TcbInfoHead = {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  pceId: string;
  /** Which of Intel's TCB recoveries this collateral reflects (higher is fresher); absent before v2. */
  tcbEvaluationDataNumber: number | undefined;
  /** The parsed JSON, for the TDX module section (tdx-module.ts validates it). */
  raw: Readonly<Record<string, unknown>>;
};

export type QeIdentityHead = {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number | undefined;
};

/** Intel's raw ECDSA P-256 signatures: r || s. */
const RAW_P256_SIGNATURE_SIZE = 64;
/** Intel writes "2025-06-19T10:56:11Z"; fractional seconds are tolerated. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const BYTE_MAX = 255;

export function parseCollateral(input: unknown): Collateral {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new VerificationError("collateral: missing (options.collateral must be the PCS collateral object)");
  }
  const c = input as Record<string, unknown>;
  const tcbInfoText = text(c, "tcb_info");
  const qeIdentityText = text(c, "qe_identity");
  return {
    pckCrlIssuerChain: text(c, "pck_crl_issuer_chain"),
    rootCaCrl: bytes(c, "root_ca_crl"),
    pckCrl: bytes(c, "pck_crl"),
    tcbInfoIssuerChain: text(c, "tcb_info_issuer_chain"),
    tcbInfoText,
    tcbInfoSignature: signature(c, "tcb_info_signature"),
    tcbInfo: parseTcbInfoHead(tcbInfoText),
    qeIdentityIssuerChain: text(c, "qe_identity_issuer_chain"),
    qeIdentityText,
    qeIdentitySignature: signature(c, "qe_identity_signature"),
    qeIdentity: parseQeIdentityHead(qeIdentityText),
  };
}

function text(c: Record<string, unknown>, key: string): string {
  const value = c[key];
  if (typeof value !== "string" || value.length === 0) {
    throw new VerificationError(`collateral: ${key} missing`);
  }
  return value;
}

/** Binary fields: hex (the PCS wire form) or an array of bytes (@phala/dcap-qvl's fetcher form). */
function bytes(c: Record<string, unknown>, key: string): Uint8Array {
  const value = c[key];
  if (typeof value === "string") {
    const decoded = fromHex(value);
    if (decoded !== undefined && decoded.length > 0) return decoded;
  } else if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b) => Number.isInteger(b) && b >= 0 && b <= BYTE_MAX)
  ) {
    return Uint8Array.from(value as number[]);
  }
  throw new VerificationError(`collateral: ${key} is not hex or bytes`);
}

function signature(c: Record<string, unknown>, key: string): Uint8Array {
  const value = bytes(c, key);
  if (value.length !== RAW_P256_SIGNATURE_SIZE) {
    throw new VerificationError(`collateral: ${key} has the wrong size`);
  }
  return value;
}

function parseJsonObject(json: string, label: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new VerificationError(`collateral: ${label} is not JSON`, { cause: error });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new VerificationError(`collateral: ${label} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function isoDate(value: unknown, label: string): Date {
  if (typeof value !== "string" || !ISO_UTC.test(value)) {
    throw new VerificationError(`collateral: ${label} malformed`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new VerificationError(`collateral: ${label} malformed`);
  return date;
}

function field<T extends "string" | "number">(
  obj: Record<string, unknown>,
  key: string,
  type: T,
  label: string,
): T extends "string" ? string : number {
  const value = obj[key];
  if (typeof value !== type) throw new VerificationError(`collateral: ${label}.${key} missing`);
  return value as T extends "string" ? string : number;
}

function parseTcbInfoHead(json: string): TcbInfoHead {
  const raw = parseJsonObject(json, "tcb_info");
  return {
    id: field(raw, "id", "string", "tcb_info"),
    version: field(raw, "version", "number", "tcb_info"),
    issueDate: isoDate(raw.issueDate, "tcb_info.issueDate"),
    nextUpdate: isoDate(raw.nextUpdate, "tcb_info.nextUpdate"),
    pceId: field(raw, "pceId", "string", "tcb_info"),
    tcbEvaluationDataNumber: optionalCount(raw, "tcbEvaluationDataNumber", "tcb_info"),
    raw,
  };
}

function parseQeIdentityHead(json: string): QeIdentityHead {
  const raw = parseJsonObject(json, "qe_identity");
  return {
    id: field(raw, "id", "string", "qe_identity"),
    version: field(raw, "version", "number", "qe_identity"),
    issueDate: isoDate(raw.issueDate, "qe_identity.issueDate"),
    nextUpdate: isoDate(raw.nextUpdate, "qe_identity.nextUpdate"),
    tcbEvaluationDataNumber: optionalCount(raw, "tcbEvaluationDataNumber", "qe_identity"),
  };
}

function optionalCount(obj: Record<string, unknown>, key: string, label: string): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new VerificationError(`collateral: ${label}.${key} is not a count`);
  return value as number;
}

/** Collateral is only good between its issue date and its next update. */
export function checkCollateralWindow(
  head: { issueDate: Date; nextUpdate: Date },
  now: Date,
  label: string,
): void {
  if (now < head.issueDate) throw new VerificationError(`${label}: issued after now`);
  if (now > head.nextUpdate) throw new VerificationError(`${label}: expired (past nextUpdate)`);
}
