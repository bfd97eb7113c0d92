// The chain, read straight from the network profile's RPC (never through a node): new blocks and the
// contract's batch count, which tell the page when to look again.
import { createPublicClient, http, type PublicClient } from "viem";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";

/** How often the page asks the RPC for its head: a devnet mines a block per transaction. */
export const CHAIN_POLL_MS = 1_000;

export function chainClient(profile: NetworkProfile): PublicClient {
  return createPublicClient({ transport: http(profile.rpcUrl), pollingInterval: CHAIN_POLL_MS });
}

/** Resolves once the chain's head is past the block it is at now. */
export async function nextBlock(chain: PublicClient): Promise<void> {
  const now = await chain.getBlockNumber({ cacheTime: 0 });
  await new Promise<void>((resolve, reject) => {
    const unwatch = chain.watchBlockNumber({
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
export function watchBatches(chain: PublicClient, profile: NetworkProfile, onChange: () => void): () => void {
  let last: bigint | undefined;
  return chain.watchBlockNumber({
    emitOnBegin: true,
    onBlockNumber: async () => {
      const count = await chain.readContract({
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
