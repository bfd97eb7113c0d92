// The TCB evaluation core, delegated to @phala/dcap-qvl 0.3.9 (a JS port of Phala's Rust dcap-qvl).
// It re-verifies the PCK chain, QE report, attestation key binding, quote signature and collateral
// signatures (our own checks in verify.ts ran first), and adds what we do not re-implement: the QE
// identity policy (MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES under their masks, QE TCB level),
// the FMSPC match and the platform TCB level match (CPUSVN components, PCESVN, TDX TEE TCB SVN),
// merged into one status with advisory IDs. It also rejects debug enclaves / TDs, TDs without
// SEPT_VE_DISABLE or with reserved TD attribute bits, and TCB status Revoked or unknown.
import { constants, QuoteVerifier, type Report } from "@phala/dcap-qvl";
import type { TcbStatusName } from "../verdict.js";
import { VerificationError } from "../verdict.js";
import { toHex } from "./bytes.js";
import type { Collateral } from "./collateral.js";
import { parseTcbStatus } from "./tcb-status.js";

const MS_PER_SECOND = 1000;

type LibraryBytes = Parameters<typeof QuoteVerifier.newWithRootCa>[0];
/**
 * The library's own Buffer class, which its certificate parser (asn1.js) insists on: Node's in Node,
 * the `buffer` package in a browser, which has no global Buffer. Its bundled root is one.
 */
const LibraryBuffer = constants.TRUSTED_ROOT_CA_DER.constructor as unknown as {
  from(bytes: Uint8Array): LibraryBytes;
};

export type QvlResult = { status: TcbStatusName; advisoryIds: string[]; report: Report };

export function evaluateWithDcapQvl(
  quote: Uint8Array,
  collateral: Collateral,
  rootDer: Uint8Array,
  now: Date,
): QvlResult {
  // Only the fields we validated, as hex; the library would otherwise also honour a
  // `pck_certificate_chain` field that replaces the chain in the quote.
  const input = {
    pck_crl_issuer_chain: collateral.pckCrlIssuerChain,
    root_ca_crl: toHex(collateral.rootCaCrl),
    pck_crl: toHex(collateral.pckCrl),
    tcb_info_issuer_chain: collateral.tcbInfoIssuerChain,
    tcb_info: collateral.tcbInfoText,
    tcb_info_signature: toHex(collateral.tcbInfoSignature),
    qe_identity_issuer_chain: collateral.qeIdentityIssuerChain,
    qe_identity: collateral.qeIdentityText,
    qe_identity_signature: toHex(collateral.qeIdentitySignature),
  };
  let result: { status: unknown; advisory_ids: unknown; report: Report };
  try {
    const verifier = QuoteVerifier.newWithRootCa(LibraryBuffer.from(rootDer));
    result = verifier.verify(quote, input, now.getTime() / MS_PER_SECOND);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new VerificationError(`dcap-qvl: ${message}`, { cause: error });
  }
  const advisoryIds = result.advisory_ids;
  if (!Array.isArray(advisoryIds) || !advisoryIds.every((a) => typeof a === "string")) {
    throw new VerificationError("dcap-qvl: malformed advisory IDs");
  }
  return {
    status: parseTcbStatus(result.status, "dcap-qvl"),
    advisoryIds: [...advisoryIds],
    report: result.report,
  };
}
