// Test-only: locates the shared real-hardware vectors (never copied into this repository).
// ANONIFY_VECTORS_DIR wins; otherwise ../shared/vectors next to the repository, as CI lays it out.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { VerifyOptions } from "../verdict.js";
import { parseQuote, type TdReportBody } from "./quote.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const VECTORS_DIR = process.env.ANONIFY_VECTORS_DIR ?? resolve(REPO_ROOT, "../shared/vectors");

/** `false` when the vectors are present, else the reason to hand to `test(..., { skip })`. */
export const vectorsSkip: string | false = existsSync(VECTORS_DIR)
  ? false
  : `attestation vectors not found at ${VECTORS_DIR} (set ANONIFY_VECTORS_DIR or check out ../shared)`;

export function readVectorBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(VECTORS_DIR, path)));
}

export function readVectorJson(path: string): unknown {
  return JSON.parse(readFileSync(resolve(VECTORS_DIR, path), "utf8"));
}

/** The Nitro vectors are stored base64; the verifier takes the raw COSE bytes. */
export function readVectorBase64(path: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(resolve(VECTORS_DIR, path), "utf8").trim(), "base64"));
}

/** A copy of `bytes` with the byte at `offset` XOR-ed with `mask` (non-zero, so it really changes). */
export function flipByte(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ mask;
  return copy;
}

/** Where a subarray returned by a parser sits in the evidence it was parsed from. */
export function offsetIn(evidence: Uint8Array, part: Uint8Array): number {
  return part.byteOffset - evidence.byteOffset;
}

/** TDX quote v4 / v5 sizes from Intel's TDX DCAP Quoting Library API (appendix A), kept apart from layout.ts. */
const V4_HEADER_BYTES = 48;
const V4_TD_REPORT10_BYTES = 584;
const V5_DESCRIPTOR_BYTES = 6;
const V5_VERSION = 5;

export type V5Options = {
  /** 2 = TD report 1.0, 3 = TD report 1.5 (default). */
  bodyType?: number;
  /** The descriptor's size field; defaults to the size of the body written. */
  declaredSize?: number;
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
};

/**
 * A synthetic TDX quote v5 made from a real v4 one: header version 5, a body descriptor, the v4 TD
 * report (followed, for TD report 1.5, by TEE_TCB_SVN2 and MRSERVICETD), then the v4 auth data
 * unchanged. The quote signature no longer matches (it signed the v4 bytes); everything else does.
 */
export function toQuoteV5(v4: Uint8Array, options: V5Options = {}): Uint8Array {
  const bodyType = options.bodyType ?? 3;
  const headerEnd = V4_HEADER_BYTES;
  const bodyEnd = V4_HEADER_BYTES + V4_TD_REPORT10_BYTES;
  const report10 = v4.subarray(headerEnd, bodyEnd);
  const teeTcbSvn = report10.subarray(0, 16);
  const extra =
    bodyType === 3
      ? Buffer.concat([options.teeTcbSvn2 ?? teeTcbSvn, options.mrServiceTd ?? new Uint8Array(48)])
      : Buffer.alloc(0);
  const descriptor = Buffer.alloc(V5_DESCRIPTOR_BYTES);
  descriptor.writeUInt16LE(bodyType, 0);
  descriptor.writeUInt32LE(options.declaredSize ?? report10.length + extra.length, 2);
  const header = Buffer.from(v4.subarray(0, headerEnd));
  header.writeUInt16LE(V5_VERSION, 0);
  return new Uint8Array(Buffer.concat([header, descriptor, report10, extra, v4.subarray(bodyEnd)]));
}

/** Inside every validity window of the DCAP vectors' collateral (TCB info, QE identity, CRLs, certificates). */
export const DCAP_VECTOR_NOW = new Date("2025-07-01T00:00:00Z");

/** The real TDX quote v4 and the options that verify it. */
export function loadTdxVector(): { quote: Uint8Array; options: VerifyOptions } {
  return {
    quote: readVectorBytes("sgx-dcap/tdx_quote"),
    options: { now: DCAP_VECTOR_NOW, collateral: readVectorJson("sgx-dcap/tdx_quote_collateral.json") },
  };
}

/** The TD report body of a TDX quote (1.0 or 1.5). */
export function tdReportOf(quote: Uint8Array): TdReportBody {
  const { body } = parseQuote(quote);
  if (body.kind === "sgx") throw new Error("not a TD report");
  return body;
}
