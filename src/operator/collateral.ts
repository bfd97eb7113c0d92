// Publishing Intel PCS collateral on chain, so that every member judges SGX and TDX quotes against
// the same set, and AMD's CRLs for a SEV-SNP product, so that every member and registration checks
// SEV-SNP chains for revocation against the same ones (src/attestation/held-collateral.ts). Publishing is open to anyone: the contract only
// emits it. It is checked here first, as every enclave will check it, so that a set no member would
// hold is refused before it costs gas.
import { type Address, bytesToHex, type TransactionReceipt } from "viem";
import { type CollateralHead, verifyPublishedCollateral } from "../attestation/dcap/published-collateral.js";
import { CRL_PEM_BEGIN, takePemCrls } from "../attestation/sev-snp/crl.js";
import { type SevSnpCrlHead, verifyPublishedSevSnpCrls } from "../attestation/sev-snp/published-crls.js";
import { VerificationError } from "../attestation/verdict.js";
import { type LedgerWallet, writeAnonifyMined } from "../chain/chain.js";
import {
  CollateralRecordError,
  decodeCollateralRecord,
  encodeCollateralRecord,
} from "../protocol/collateral-record.js";
import { decodeSevSnpCrlRecord, encodeSevSnpCrlRecord } from "../protocol/sev-snp-crl-record.js";
import { OperatorError } from "./operator-checks.js";

/**
 * The record of a PCS collateral object and what it judges, or an OperatorError naming why no member
 * would hold it. `rootCertificatePem`: the root the members' build pins, when it is not Intel's (a
 * test build's test PKI); never a default.
 */
export function collateralRecord(
  pcs: unknown,
  rootCertificatePem?: string,
): { record: Uint8Array; head: CollateralHead } {
  try {
    const record = encodeCollateralRecord(pcs);
    // Checked as the enclave reads it: from the record, not from the JSON it was made of.
    return { record, head: verifyPublishedCollateral(decodeCollateralRecord(record), rootCertificatePem) };
  } catch (error) {
    if (error instanceof VerificationError) throw new OperatorError("bad_collateral", error.reason);
    if (error instanceof CollateralRecordError) throw new OperatorError("bad_collateral", error.message);
    throw error;
  }
}

/** AMD's CRLs as its KDS serves them: one DER CRL, or text of "X509 CRL" PEM blocks (one or more). */
export function readSevSnpCrls(file: Uint8Array): Uint8Array[] {
  const text = new TextDecoder().decode(file);
  if (!text.includes(CRL_PEM_BEGIN)) return [file];
  try {
    const { crls, rest } = takePemCrls(text);
    if (rest.trim() !== "") throw new OperatorError("bad_collateral", "the file holds more than CRLs");
    return crls;
  } catch (error) {
    if (error instanceof VerificationError) throw new OperatorError("bad_collateral", error.reason);
    throw error;
  }
}

/**
 * The record of one product's AMD CRLs (DER) and what it judges, or an OperatorError naming why no
 * member would hold it or why evidence judged against it would not verify (past its next update at
 * `now`). `rootCertificatePem`: the ARK the members' build pins, when it is not AMD's; never a default.
 */
export function sevSnpCrlRecord(
  crls: readonly Uint8Array[],
  rootCertificatePem?: string,
  now = new Date(),
): { record: Uint8Array; head: SevSnpCrlHead } {
  let result: { record: Uint8Array; head: SevSnpCrlHead };
  try {
    const record = encodeSevSnpCrlRecord(crls);
    // Checked as the enclave reads it: from the record.
    result = { record, head: verifyPublishedSevSnpCrls(decodeSevSnpCrlRecord(record), rootCertificatePem) };
  } catch (error) {
    if (error instanceof VerificationError) throw new OperatorError("bad_collateral", error.reason);
    if (error instanceof CollateralRecordError) throw new OperatorError("bad_collateral", error.message);
    throw error;
  }
  if (Date.parse(result.head.nextUpdate) < now.getTime())
    throw new OperatorError(
      "stale_collateral",
      `AMD's ${result.head.product} CRLs passed their next update at ${result.head.nextUpdate}: fetch current ones from AMD's KDS`,
    );
  return result;
}

export async function publishCollateral(
  wallet: LedgerWallet,
  contract: Address,
  record: Uint8Array,
): Promise<TransactionReceipt> {
  return writeAnonifyMined(wallet, contract, "publishCollateral", [bytesToHex(record)]);
}
