// The chain, read straight from the network profile's RPC (never through a node): new blocks and the
// contract's batch count, which tell the page when to look again.
import { getBlockNumber, readContract, watchBlockNumber } from "viem/actions";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { type ChainClient, chainClient as sdkChainClient } from "../../src/client/chain-client.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";

/** How often the page asks the RPC for its head: a devnet mines a block per transaction. */
export const CHAIN_POLL_MS = 1_000;

export function chainClient(profile: NetworkProfile): ChainClient {
  return sdkChainClient(profile.rpcUrl, { pollingIntervalMs: CHAIN_POLL_MS });
}

/** Resolves once the chain's head is past the block it is at now. */
export async function nextBlock(chain: ChainClient): Promise<void> {
  const now = await getBlockNumber(chain, { cacheTime: 0 });
  await new Promise<void>((resolve, reject) => {
    const unwatch = watchBlockNumber(chain, {
      onBlockNumber: (n) => {
        if (n > now) {
          unwatch();
          resolve();
        }
      },
      onError: (error) => {
        unwatch();
        reject(error);
      },
    });
  });
}

/** Calls `onChange` whenever the contract has ordered another batch. */
export function watchBatches(chain: ChainClient, profile: NetworkProfile, onChange: () => void): () => void {
  let last: bigint | undefined;
  return watchBlockNumber(chain, {
    emitOnBegin: true,
    onBlockNumber: async () => {
      const count = await readContract(chain, {
        address: profile.contract,
        abi: anonifyAbi,
        functionName: "batchCount",
      });
      if (count !== last) {
        last = count;
        onChange();
      }
    },
  });
}
