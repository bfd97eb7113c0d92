// Publishing Intel PCS collateral on chain, so that every member judges SGX and TDX quotes against
// the same set (src/attestation/held-collateral.ts). Publishing is open to anyone: the contract only
// emits it. It is checked here first, as every enclave will check it, so that a set no member would
// hold is refused before it costs gas.
import { type Address, bytesToHex, type TransactionReceipt } from "viem";
import { type CollateralHead, verifyPublishedCollateral } from "../attestation/dcap/published-collateral.js";
import { VerificationError } from "../attestation/verdict.js";
import { type LedgerWallet, writeAnonifyMined } from "../chain/chain.js";
import {
  CollateralRecordError,
  decodeCollateralRecord,
  encodeCollateralRecord,
} from "../protocol/collateral-record.js";
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

export async function publishCollateral(
  wallet: LedgerWallet,
  contract: Address,
  record: Uint8Array,
): Promise<TransactionReceipt> {
  return writeAnonifyMined(wallet, contract, "publishCollateral", [bytesToHex(record)]);
}
