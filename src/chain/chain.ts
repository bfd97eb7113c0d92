import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  createClient,
  createPublicClient,
  defineChain,
  type Hex,
  http,
  MethodNotSupportedRpcError,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
  type WriteContractParameters,
  walletActions,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anonifyAbi, anonifyBytecode } from "./generated/contracts.js";

/** A seven-day default: old enough for a slow operator, young enough that a stale quote expires. */
export const DEFAULT_MAX_REPORT_AGE_S = 7n * 24n * 3600n;

export type Ledger = {
  chain: Chain;
  rpcUrl: string;
  publicClient: PublicClient<Transport, Chain>;
};

export type LedgerWallet = Ledger & {
  account: Account;
  walletClient: WalletClient<Transport, Chain, Account>;
};

export class LedgerError extends Error {
  override name = "LedgerError";
}

/** Connects to any Ethereum JSON-RPC node; the chain id is read from the node, not assumed. */
export async function connectLedger(rpcUrl: string): Promise<Ledger> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // Batch JSON-RPC calls made in the same tick; poll fast because local chains mine in milliseconds.
  const publicClient = createPublicClient({
    chain,
    transport: http(rpcUrl, { batch: true }),
    pollingInterval: 100,
  });
  return { chain, rpcUrl, publicClient };
}

/**
 * viem asks the node to fill a transaction with `eth_fillTransaction` first, which is Geth's and not
 * in the Ethereum execution API (Hardhat and providers refuse it). Refused here, before any request,
 * viem fills nonce, gas and fees with standard calls (the override is viem's documented action hook).
 */
const fillTransactionRefused = {
  fillTransaction: (): Promise<never> =>
    Promise.reject(
      new MethodNotSupportedRpcError(new Error("not a standard method"), { method: "eth_fillTransaction" }),
    ),
};

export function withWallet(ledger: Ledger, privateKey: Hex): LedgerWallet {
  const account = privateKeyToAccount(privateKey);
  // The override comes before the wallet actions, which call actions on the client they extend.
  const walletClient = createClient({ account, chain: ledger.chain, transport: http(ledger.rpcUrl) })
    .extend(() => fillTransactionRefused)
    .extend(walletActions);
  return { ...ledger, account, walletClient };
}

export type DeployAnonifyParameters = { owner?: Address; maxReportAge?: bigint };

export async function deployAnonify(
  wallet: LedgerWallet,
  params: DeployAnonifyParameters = {},
): Promise<Address> {
  const hash = await wallet.walletClient.deployContract({
    abi: anonifyAbi,
    bytecode: anonifyBytecode,
    args: [params.owner ?? wallet.account.address, params.maxReportAge ?? DEFAULT_MAX_REPORT_AGE_S],
  });
  const receipt = await wallet.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new LedgerError(`deployment of Anonify failed in transaction ${hash}`);
  }
  return receipt.contractAddress;
}

type Writable = "nonpayable" | "payable";
/** A function of the contract that changes state. */
export type AnonifyWrite = ContractFunctionName<typeof anonifyAbi, Writable>;
/** Its arguments as the ABI types them (and as an array, which TS cannot see for a generic `F`). */
export type AnonifyWriteArgs<F extends AnonifyWrite> = ContractFunctionArgs<typeof anonifyAbi, Writable, F> &
  readonly unknown[];

/**
 * Signs and sends a contract call, typed by the generated ABI: simulated first (so a revert costs
 * no gas and names its error), unless a gas limit is given because it cannot be simulated yet.
 */
export async function writeAnonify<F extends AnonifyWrite, const A extends AnonifyWriteArgs<F>>(
  wallet: LedgerWallet,
  contract: Address,
  functionName: F,
  args: A,
  gas?: bigint,
): Promise<Hex> {
  const call = { account: wallet.account, address: contract, abi: anonifyAbi, functionName, args };
  if (gas === undefined) await wallet.publicClient.simulateContract(call);
  // viem types a write's parameters conditionally on the function name, which TS cannot resolve
  // for a generic one; the call was checked against the ABI above (F, A), so it goes on typed by
  // the ABI-wide parameters.
  const write: WriteContractParameters<Abi, string, readonly unknown[], Chain, Account> = { ...call, gas };
  return wallet.walletClient.writeContract(write);
}

/** `writeAnonify`, then the transaction's receipt once it is mined. */
export async function writeAnonifyMined<F extends AnonifyWrite, const A extends AnonifyWriteArgs<F>>(
  wallet: LedgerWallet,
  contract: Address,
  functionName: F,
  args: A,
): Promise<TransactionReceipt> {
  const hash = await writeAnonify(wallet, contract, functionName, args);
  return wallet.publicClient.waitForTransactionReceipt({ hash });
}
