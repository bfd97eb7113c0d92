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
import { failover, RPC_TIMEOUT_MS } from "./failover-transport.js";
import { anonifyAbi, anonifyBytecode } from "./generated/contracts.js";
import { rpcOrigin } from "./rpc-origin.js";

/** A seven-day default: old enough for a slow operator, young enough that a stale quote expires. */
export const DEFAULT_MAX_REPORT_AGE_S = 7n * 24n * 3600n;

export type Ledger = {
  chain: Chain;
  /** The first of `rpcUrls`: the one a network profile names. */
  rpcUrl: string;
  /** Every endpoint of this chain the node may use, in order of preference. */
  rpcUrls: readonly string[];
  transport: Transport;
  publicClient: PublicClient<Transport, Chain>;
  /** Outages (refused, dropped, timed out, HTTP error) of each of `rpcUrls` so far, by index: live counts. */
  rpcOutages: readonly number[];
};

export type LedgerWallet = Ledger & {
  account: Account;
  walletClient: WalletClient<Transport, Chain, Account>;
};

/** `code` names why connecting failed: nothing answered, or the endpoints serve different chains. */
export class LedgerError extends Error {
  override name = "LedgerError";
  constructor(
    message: string,
    readonly code?: "rpc_unreachable" | "chains_differ",
  ) {
    super(message);
  }
}

/**
 * The chain id every answering endpoint reports: read from the nodes, not assumed. Endpoints that do
 * not answer now are kept (they may come back); endpoints of different chains are refused.
 */
async function agreedChainId(urls: readonly string[]): Promise<number> {
  const answers = await Promise.allSettled(
    urls.map((url) =>
      createPublicClient({
        transport: http(url, { retryCount: 0, timeout: RPC_TIMEOUT_MS }),
        ccipRead: false,
      }).getChainId(),
    ),
  );
  const ids = new Map<number, string[]>();
  for (const [i, answer] of answers.entries()) {
    if (answer.status === "fulfilled") ids.set(answer.value, [...(ids.get(answer.value) ?? []), urls[i]!]);
  }
  if (ids.size === 0) {
    const first = answers[0] as PromiseRejectedResult;
    const reason = first.reason instanceof Error ? first.reason.message.split("\n")[0] : String(first.reason);
    throw new LedgerError(
      `no RPC endpoint answers (${urls.map(rpcOrigin).join(", ")}): ${reason}`,
      "rpc_unreachable",
    );
  }
  if (ids.size > 1) {
    const listed = [...ids].map(([id, at]) => `chain ${id} at ${at.map(rpcOrigin).join(", ")}`).join("; ");
    throw new LedgerError(`the RPC endpoints serve different chains: ${listed}`, "chains_differ");
  }
  return [...ids.keys()][0]!;
}

/**
 * Connects to any Ethereum JSON-RPC node, or to several endpoints of one chain (failing over between
 * them: failover-transport.ts). The chain id is read from the nodes, not assumed.
 */
export async function connectLedger(rpcUrls: string | readonly string[]): Promise<Ledger> {
  const urls = typeof rpcUrls === "string" ? [rpcUrls] : [...rpcUrls];
  if (urls.length === 0) throw new LedgerError("no RPC URL given");
  const chainId = await agreedChainId(urls);
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: urls } },
  });
  // Batch JSON-RPC calls made in the same tick; poll fast because local chains mine in milliseconds.
  const rpcOutages = urls.map(() => 0);
  const transport = failover(urls, { batch: true, onOutage: (i) => rpcOutages[i]!++ });
  // ccipRead off: an RPC's `OffchainLookup` revert must not make the node fetch URLs it names.
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100, ccipRead: false });
  return { chain, rpcUrl: urls[0]!, rpcUrls: urls, transport, publicClient, rpcOutages };
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
  const walletClient = createClient({
    account,
    chain: ledger.chain,
    transport: ledger.transport,
    ccipRead: false,
  })
    .extend(() => fillTransactionRefused)
    .extend(walletActions);
  return { ...ledger, account, walletClient };
}

export type DeployAnonifyParameters = { owner?: Address; maxReportAge?: bigint };

export async function deployAnonify(
  wallet: LedgerWallet,
  params: DeployAnonifyParameters = {},
): Promise<Address> {
  return (await deployAnonifyMined(wallet, params)).contract;
}

/** `deployAnonify`, with the deployment's receipt (its block is where followers start). */
export async function deployAnonifyMined(
  wallet: LedgerWallet,
  params: DeployAnonifyParameters = {},
): Promise<{ contract: Address; receipt: TransactionReceipt }> {
  const hash = await wallet.walletClient.deployContract({
    abi: anonifyAbi,
    bytecode: anonifyBytecode,
    args: [params.owner ?? wallet.account.address, params.maxReportAge ?? DEFAULT_MAX_REPORT_AGE_S],
  });
  const receipt = await wallet.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new LedgerError(`deployment of Anonify failed in transaction ${hash}`);
  }
  return { contract: receipt.contractAddress, receipt };
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
