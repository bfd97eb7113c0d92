// DCAP quote verification (SGX quote v3, TDX quotes v4 and v5) against PCS collateral and the pinned
// Intel root.
//
// Order: cheap structural checks, then our own cryptographic checks (each with a precise reason), then
// @phala/dcap-qvl for the TCB evaluation, then the checks that library 0.3.9 lacks. What we add on top of
// the library (it does NOT do these):
//   - strict quote parsing: no trailing bytes at any level (zero padding after the auth data excepted),
//     certification data type 5 only, Intel QE vendor ID;
//   - the chain must start at the pinned root byte for byte (the library only checks that the top
//     certificate is signed by the pinned key); issuer names chain; issuers are CAs with keyCertSign and
//     enough path length; unknown critical extensions are refused; PEM must be strict, canonical base64;
//   - CRLs: signature by their issuer, issuer name, thisUpdate/nextUpdate window, fail closed on parse
//     errors, revocation looked up per issuer; the PCK CRL issuer chain verified; PCK CRL from the PCK's CA;
//   - the upper 32 bytes of the QE report data must be zero (the library only checks the hash half);
//   - strict dates in TCB info / QE identity (the library compares NaN, which passes, on malformed dates);
//   - the PCK certificate's PCE ID must equal the TCB info's pceId;
//   - TDX: MRSIGNERSEAM and SEAM attributes against the TDX module identity, and the module's TCB level
//     converged into the status (tdx-module.ts);
//   - TDX quote v5: the body descriptor's size must match its type (quote.ts); MRSERVICETD must be zero
//     here, before any signature work (the library checks it last);
//   - collateral restricted to the validated fields (no `pck_certificate_chain` override).
// Still not checked (by either): TCB evaluation data numbers across TCB info and QE identity, and the
// `tcbDate`-based grace policies of Intel's QVL. The library also compares all 16 TDX TEE TCB SVN bytes
// with the TCB levels, including the two module bytes Intel's QVL leaves to the module check: at worst
// a stricter (lower) level, never a laxer one. Debug enclaves and TDs are rejected (library policy).
// TD report 1.5 (quote v5) is judged like 1.0 on its TEE_TCB_SVN, the TCB the TD was launched under, as
// both the library and Intel's QVL match TCB levels; TEE_TCB_SVN2 (the module running now) feeds only
// Intel's "TD relaunch advised" refinement of an OutOfDate status, which we do not report: such a TD
// stays OutOfDate here (stricter, never laxer).
//
// The TDX verdict's measurement is the combined TDX measurement (tdx-measurement.ts): MRTD, RTMR0-3,
// MRCONFIGID, MROWNER and MROWNERCONFIG under one SHA-256; the registers stay in `measurements`.
import type { PlatformName, TcbStatusName, Verdict, VerifyOptions } from "../verdict.js";
import { VerificationError } from "../verdict.js";
import { isAllZero, toHex } from "./bytes.js";
import { parseCollateral } from "./collateral.js";
import { verifyCollateralPki, verifyPckChain } from "./collateral-pki.js";
import { INTEL_SGX_ROOT_CA_PEM } from "./intel-root.js";
import { INTEL_QE_VENDOR_ID, SGX_ATTRIBUTE_DEBUG, TDX_ATTRIBUTE_DEBUG } from "./layout.js";
import { type Certificate, parseRootPem } from "./pki.js";
import { type EnclaveReportBody, type ParsedQuote, parseQuote, type TdReportBody } from "./quote.js";
import { evaluateWithDcapQvl, type QvlResult } from "./qvl.js";
import { readPceId } from "./sgx-extension.js";
import { verifyQeReport, verifyQuoteSignature } from "./signatures.js";
import { tdxMeasurement, tdxMeasurementComponents } from "./tdx-measurement.js";
import { convergeWithModule, evaluateTdxModule } from "./tdx-module.js";

export type DcapPlatform = Extract<PlatformName, "sgx" | "tdx">;

export async function verifyDcapQuote(
  platform: DcapPlatform,
  evidence: Uint8Array,
  options: VerifyOptions,
): Promise<Verdict> {
  try {
    return verifyOrThrow(platform, evidence, options);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // Whatever a parser below throws on hostile input, callers only ever see this type.
    throw new VerificationError(`${platform} quote: malformed evidence`, { cause: error });
  }
}

function verifyOrThrow(platform: DcapPlatform, evidence: Uint8Array, options: VerifyOptions): Verdict {
  const now = options?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new VerificationError("options.now must be a valid Date");
  }
  const quote = parseQuote(evidence);
  if ((quote.body.kind === "sgx") !== (platform === "sgx")) {
    throw new VerificationError(`quote: not a ${platform.toUpperCase()} quote`);
  }
  if (quote.body.kind === "td15" && !isAllZero(quote.body.mrServiceTd)) {
    // A TD bound to a service TD (e.g. a migration TD) is trusted through that TD too; not supported.
    throw new VerificationError("quote: MRSERVICETD is not zero (service TD binding is not supported)");
  }
  if (quote.header.qeVendorId !== INTEL_QE_VENDOR_ID) {
    throw new VerificationError("quote: QE vendor is not Intel");
  }
  const collateral = parseCollateral(options.collateral);
  const root = pinnedRoot(options.rootCertificatePem);

  // Evidence first: the PCK chain, the QE report it signs, the attestation key it binds, the quote.
  const pckChain = verifyPckChain(quote.pckChainPem, root, now);
  verifyQeReport(quote, pckChain[pckChain.length - 1]!);
  verifyQuoteSignature(quote);

  // Then the collateral: CRLs, signer chains, signatures, validity windows.
  const pck = verifyCollateralPki(pckChain, collateral, root, now);
  if (readPceId(pck) !== collateral.tcbInfo.pceId.toUpperCase()) {
    throw new VerificationError("PCK certificate PCE ID does not match the TCB info");
  }

  const qvl = evaluateWithDcapQvl(evidence, collateral, root.der, now);
  assertSameReport(qvl, quote);
  let tcbStatus = qvl.status;
  const advisoryIds = [...qvl.advisoryIds];
  if (quote.body.kind !== "sgx") {
    const module = evaluateTdxModule(collateral.tcbInfo.raw, quote.body);
    tcbStatus = convergeWithModule(tcbStatus, module.status);
    advisoryIds.push(...module.advisoryIds);
  }
  return {
    ...buildVerdict(quote, tcbStatus, [...new Set(advisoryIds)]),
    ...collateralFreshness(collateral.tcbInfo, collateral.qeIdentity),
  };
}

/** The collateral is as fresh as the older of its two parts (TCB info and QE identity). */
function collateralFreshness(
  ...heads: { tcbEvaluationDataNumber: number | undefined }[]
): Pick<Verdict, "tcbEvaluationDataNumber"> {
  const numbers = heads.map((h) => h.tcbEvaluationDataNumber);
  if (numbers.some((n) => n === undefined)) return {};
  return { tcbEvaluationDataNumber: Math.min(...(numbers as number[])) };
}

let defaultRoot: Certificate | undefined;

/** The pinned Intel root, unless the caller explicitly passed another (tests, private PKIs). */
export function pinnedRoot(pem: string | undefined): Certificate {
  if (pem !== undefined) return parseRootPem(pem, "rootCertificatePem");
  defaultRoot ??= parseRootPem(INTEL_SGX_ROOT_CA_PEM, "Intel SGX root");
  return defaultRoot;
}

/** Both parsers read the same bytes; a disagreement would mean one of them is wrong. */
function assertSameReport(qvl: QvlResult, quote: ParsedQuote): void {
  const theirs = qvl.report.type === "sgx" ? qvl.report.asSgx() : qvl.report.asTd10();
  const ours = quote.body;
  const same =
    theirs !== null &&
    toHex(theirs.reportData) === toHex(ours.reportData) &&
    (ours.kind === "sgx"
      ? "mrEnclave" in theirs && toHex(theirs.mrEnclave) === toHex(ours.mrEnclave)
      : "mrTd" in theirs && toHex(theirs.mrTd) === toHex(ours.mrTd));
  if (!same) throw new VerificationError("quote: parsers disagree on the report body");
}

function buildVerdict(quote: ParsedQuote, tcbStatus: TcbStatusName, advisoryIds: string[]): Verdict {
  const common = { tcbStatus, advisoryIds, reportData: toHex(quote.body.reportData) };
  return quote.body.kind === "sgx" ? sgxVerdict(quote.body, common) : tdxVerdict(quote.body, common);
}

type Common = Pick<Verdict, "tcbStatus" | "advisoryIds" | "reportData">;

function sgxVerdict(body: EnclaveReportBody, common: Common): Verdict {
  const mrenclave = toHex(body.mrEnclave);
  const mrsigner = toHex(body.mrSigner);
  return {
    platform: "sgx",
    measurement: mrenclave,
    signerMeasurement: mrsigner,
    measurements: { mrenclave, mrsigner },
    debug: (body.attributes[0]! & SGX_ATTRIBUTE_DEBUG) !== 0,
    ...common,
  };
}

function tdxVerdict(body: TdReportBody, common: Common): Verdict {
  // The measurement's components first, in hashing order, so operators can recompute it from them.
  const components = Object.entries(tdxMeasurementComponents(body)).map(([name, value]) => [
    name,
    toHex(value),
  ]);
  const measurements: Record<string, string> = {
    ...Object.fromEntries(components),
    mrseam: toHex(body.mrSeam),
    mrsignerseam: toHex(body.mrSignerSeam),
  };
  return {
    platform: "tdx",
    measurement: toHex(tdxMeasurement(body)),
    signerMeasurement: measurements.mrsignerseam!,
    measurements,
    debug: (body.tdAttributes[0]! & TDX_ATTRIBUTE_DEBUG) !== 0,
    ...common,
  };
}
