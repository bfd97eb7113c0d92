// What an operator's command checks before it sends anything: the RPC answers, the key file holds a
// key, the account has gas money, the contract is there, the profile names the chain the RPC serves.
// Each failure is an OperatorError whose message says what is wrong and where.
import { existsSync, readFileSync } from "node:fs";
import { type Address, createPublicClient, formatEther, type Hex, http } from "viem";
import { connectLedger, type Ledger, type LedgerWallet } from "../chain/chain.js";
import type { NetworkProfile } from "../client/network-profile.js";

/** How long an RPC URL may take to answer its first request before the command gives up on it. */
const RPC_PROBE_TIMEOUT_MS = 5_000;
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

/** Connects to `rpcUrl`, failing fast and clearly when nothing answers JSON-RPC there. */
export async function connectRpc(rpcUrl: string): Promise<Ledger> {
  const probe = createPublicClient({
    transport: http(rpcUrl, { retryCount: 0, timeout: RPC_PROBE_TIMEOUT_MS }),
  });
  try {
    await probe.getChainId();
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split("\n")[0] ?? error.name) : String(error);
    throw new OperatorError(
      "rpc_unreachable",
      `the chain RPC ${rpcUrl} does not answer JSON-RPC (${reason})`,
    );
  }
  return connectLedger(rpcUrl);
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
      `no contract at ${contract} on chain ${ledger.chain.id} (${ledger.rpcUrl}): wrong address, or another chain?`,
    );
}

/** Refuses a profile whose chain is not the one its RPC serves. */
export function requireChain(profile: Pick<NetworkProfile, "chainId">, ledger: Ledger, source: string): void {
  if (profile.chainId !== ledger.chain.id)
    throw new OperatorError(
      "wrong_chain",
      `${source} is for chain ${profile.chainId}, but ${ledger.rpcUrl} serves chain ${ledger.chain.id}`,
    );
}
