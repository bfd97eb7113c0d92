// The chain an operator's command works on: `--network FILE` (what `anonify deploy` wrote), or
// `--rpc URL --contract ADDR [--deployed-at-block N]` (with `--network`, `--rpc` names the operator's
// own RPC of that chain); connected and checked before anything is sent.
import type { Command } from "commander";
import type { Address } from "viem";
import type { Ledger } from "../chain/chain.js";
import { parseContract, parseRpcUrl, readNetworkProfile } from "../client/network-profile.js";
import { connectRpc, OperatorError, requireChain, requireContract } from "../operator/operator-checks.js";

export type OperatorNetworkFlags = {
  network?: string;
  /** Each `--rpc` given, in order: the node fails over between them. */
  rpc?: string[];
  contract?: string;
  deployedAtBlock?: string;
};

export type OperatorNetwork = { ledger: Ledger; contract: Address; deployedAtBlock: bigint };

export function operatorNetworkOptions(command: Command): Command {
  return command
    .option("--network <file>", "the network profile (anonify deploy writes it)")
    .option(
      "--rpc <url>",
      "an Ethereum JSON-RPC URL of the chain (with --network: your own, instead of the profile's); " +
        "repeat it to fail over between endpoints",
      (url: string, urls: string[] = []) => [...urls, url],
    )
    .option("--contract <address>", "without --network: the Anonify contract")
    .option(
      "--deployed-at-block <n>",
      "without --network: the contract's deployment block (where nodes start reading)",
    );
}

function parseBlock(value: string): bigint {
  if (!/^[0-9]+$/.test(value))
    throw new OperatorError(
      "bad_block",
      `--deployed-at-block must be a block number, not ${JSON.stringify(value)}`,
    );
  return BigInt(value);
}

function rpcUrls(flags: readonly string[]): string[] {
  return flags.map((url) => parseRpcUrl(url, "flags", "--rpc"));
}

/** Connects to the chain the flags name and checks it serves the profile's chain and holds the contract. */
export async function operatorNetwork(flags: OperatorNetworkFlags): Promise<OperatorNetwork> {
  if (flags.network !== undefined) {
    if (flags.contract !== undefined)
      throw new OperatorError("bad_flags", "give either --network FILE or --contract ADDRESS, not both");
    const profile = readNetworkProfile(flags.network);
    // An operator's own RPC of the same chain may replace the profile's (its chain id is still checked).
    const ledger = await connectRpc(flags.rpc === undefined ? profile.rpcUrl : rpcUrls(flags.rpc));
    requireChain(profile, ledger, `network profile ${flags.network}`);
    await requireContract(ledger, profile.contract);
    return { ledger, contract: profile.contract, deployedAtBlock: profile.deployedAtBlock };
  }
  if (flags.rpc === undefined || flags.contract === undefined)
    throw new OperatorError(
      "no_network",
      "name the network: --network FILE, or --rpc URL and --contract ADDRESS",
    );
  const contract = parseContract(flags.contract, "flags", "--contract");
  const ledger = await connectRpc(rpcUrls(flags.rpc));
  await requireContract(ledger, contract);
  const deployedAtBlock = flags.deployedAtBlock === undefined ? 0n : parseBlock(flags.deployedAtBlock);
  return { ledger, contract, deployedAtBlock };
}
