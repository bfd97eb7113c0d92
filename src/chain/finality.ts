// When an ordered batch is final: one rule for the client (which checks it on chain itself) and the
// node (which says it in its status answers): buried under enough blocks, or at or below the block
// the chain itself calls finalized where it names one.
import type { Client, Transport } from "viem";
import { getBlock } from "viem/actions";

/** Anvil's chain id: the devnet, whose blocks no one reorganises. */
export const DEVNET_CHAIN_ID = 31337;
/** Blocks a batch must be under the head to be final, where the chain names no finalized block. */
export const DEFAULT_FINALITY_DEPTH = 12n;

/** The depth that makes a batch final on chain `chainId`: `configured`, else 0 on the devnet, else 12. */
export const finalityDepth = (chainId: number, configured?: bigint): bigint =>
  configured ?? (chainId === DEVNET_CHAIN_ID ? 0n : DEFAULT_FINALITY_DEPTH);

/** Whether a batch in `block` is final with the chain at `head`. */
export async function isFinal(
  chain: Client<Transport>,
  block: bigint,
  head: bigint,
  depth: bigint,
): Promise<boolean> {
  if (block + depth <= head) return true;
  try {
    const finalized = await getBlock(chain, { blockTag: "finalized" });
    return finalized.number !== null && block <= finalized.number;
  } catch {
    return false; // a chain that names no finalized block: the depth alone decides
  }
}
