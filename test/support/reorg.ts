// Chain reorganisations on Anvil (`anvil_reorg`), for fault tests and benchmarks.
import type { Hex } from "viem";

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Replaces the last `depth` blocks with as many new ones: empty, or holding the same transactions
 * again (each in the block at the same offset, signed as they were).
 */
export async function reorganise(url: string, depth: number, reinclude: boolean): Promise<void> {
  const pairs: [Hex, number][] = [];
  if (reinclude) {
    const head = BigInt(await rpc<Hex>(url, "eth_blockNumber", []));
    for (let offset = 0; offset < depth; offset++) {
      const number = head - BigInt(depth - 1 - offset);
      const block = await rpc<{ transactions: Hex[] }>(url, "eth_getBlockByNumber", [
        `0x${number.toString(16)}`,
        false,
      ]);
      for (const hash of block.transactions)
        pairs.push([await rpc<Hex>(url, "eth_getRawTransactionByHash", [hash]), offset]);
    }
  }
  await rpc(url, "anvil_reorg", [depth, pairs]);
}
