// A node leaving the network for good: its enclave signs its leave for its record nonce on chain and
// the host sends it; the members then remove it from the group (a signed leave is their proof).
import type { Hex } from "viem";
import { type LedgerWallet, writeAnonifyMined } from "../chain/chain.js";
import type { EnclaveCalls } from "./enclave-process.js";
import { onChainState } from "./registration.js";

/** A leave the node will not send now (the API answers 409 with its message). */
export class LeaveRefused extends Error {
  override name = "LeaveRefused";
  readonly code = "commands_pending";
}

export type LeaveResult = { enclave: Hex; transaction: Hex; block: bigint };

/**
 * Sends the enclave's signed leave, unless commands it accepted are not ordered yet: they would be
 * lost with the enclave (`LeaveRefused`).
 */
export async function sendLeave(
  enclave: EnclaveCalls,
  wallet: LedgerWallet,
  contract: Hex,
  address: Hex,
): Promise<LeaveResult> {
  const { ledger } = await enclave.call("groupStatus");
  const pending = ledger.queued + ledger.inFlight;
  if (pending > 0)
    throw new LeaveRefused(`${pending} commands accepted here are not ordered yet; retry once they are`);
  const { recordNonce } = await onChainState(wallet, contract, address);
  const { signature } = await enclave.call("signLeave", { nonce: recordNonce.toString() });
  const receipt = await writeAnonifyMined(wallet, contract, "leave", [recordNonce, signature]);
  return { enclave: address, transaction: receipt.transactionHash, block: receipt.blockNumber };
}
