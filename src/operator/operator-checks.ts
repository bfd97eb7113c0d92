// What an operator's command checks before it sends anything: the RPC answers, the key file holds a
// key, the account has gas money, the contract is there, the profile names the chain the RPC serves.
// Each failure is an OperatorError whose message says what is wrong and where.
import { existsSync, readFileSync } from "node:fs";
import { type Address, formatEther, type Hex } from "viem";
import { connectLedger, type Ledger, LedgerError, type LedgerWallet } from "../chain/chain.js";
import { rpcOrigin } from "../chain/rpc-origin.js";
import type { NetworkProfile } from "../client/network-profile.js";

/** A private key as a file holds it: 32 bytes as hex, with or without 0x. */
const KEY_PATTERN = /^(0x)?[0-9a-fA-F]{64}$/;

export class OperatorError extends Error {
  override name = "OperatorError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Connects to the chain's RPC endpoints (several: the node fails over between them), failing fast
 * and clearly when none answers JSON-RPC or they serve different chains.
 */
export async function connectRpc(rpcUrls: string | readonly string[]): Promise<Ledger> {
  try {
    return await connectLedger(rpcUrls);
  } catch (error) {
    if (!(error instanceof LedgerError) || error.code === undefined) throw error;
    const urls = (typeof rpcUrls === "string" ? [rpcUrls] : rpcUrls).map(rpcOrigin).join(", ");
    if (error.code === "chains_differ") throw new OperatorError("wrong_chain", error.message);
    const reason = error.message.split("): ")[1] ?? error.message;
    throw new OperatorError("rpc_unreachable", `the chain RPC ${urls} does not answer JSON-RPC (${reason})`);
  }
}

/** The private key in `path` (what `anonify wallet new` writes). */
export function readKeyFile(path: string, role: string): Hex {
  if (!existsSync(path)) throw new OperatorError("bad_key", `${role} key file ${path}: no such file`);
  const text = readFileSync(path, "utf8").trim();
  if (!KEY_PATTERN.test(text))
    throw new OperatorError(
      "bad_key",
      `${role} key file ${path} does not hold a private key (32 bytes as hex, e.g. from anonify wallet new)`,
    );
  return (text.startsWith("0x") ? text : `0x${text}`) as Hex;
}

/** Refuses to go on when the account that pays gas holds nothing (checked before sending). */
export async function requireFunds(wallet: LedgerWallet, role: string): Promise<bigint> {
  const balance = await wallet.publicClient.getBalance({ address: wallet.account.address });
  if (balance === 0n)
    throw new OperatorError(
      "unfunded",
      `the ${role}'s account ${wallet.account.address} has no ETH on chain ${wallet.chain.id}: fund it to pay gas`,
    );
  return balance;
}

export const showEther = (wei: bigint): string => `${formatEther(wei)} ETH`;

/** Refuses an address where the chain holds no contract. */
export async function requireContract(ledger: Ledger, contract: Address): Promise<void> {
  const code = await ledger.publicClient.getCode({ address: contract });
  if (!code || code === "0x")
    throw new OperatorError(
      "no_contract",
      `no contract at ${contract} on chain ${ledger.chain.id} (${rpcOrigin(ledger.rpcUrl)}): wrong address, or another chain?`,
    );
}

/** Refuses a profile whose chain is not the one its RPC serves. */
export function requireChain(profile: Pick<NetworkProfile, "chainId">, ledger: Ledger, source: string): void {
  if (profile.chainId !== ledger.chain.id)
    throw new OperatorError(
      "wrong_chain",
      `${source} is for chain ${profile.chainId}, but ${rpcOrigin(ledger.rpcUrl)} serves chain ${ledger.chain.id}`,
    );
}
