// The chain as the SDK reads it: a bare viem client, with the actions it calls imported one by one
// (`viem/actions`). viem's `createPublicClient` carries every public action, which a bundler cannot
// drop: about 73 KB gzipped more in the web page (src/client runs in the browser too).
import { type Client, createClient, http, type Transport } from "viem";

export { rpcOrigin } from "../chain/rpc-origin.js";

export type ChainClient = Client<Transport>;

export type ChainClientOptions = {
  /** Makes every request (the global fetch when omitted). */
  fetch?: typeof globalThis.fetch;
  /** How often watchers ask for a new block (viem's default when omitted). */
  pollingIntervalMs?: number;
};

/**
 * `ccipRead: false`: with CCIP-Read (EIP-3668) on, a contract call that reverts with `OffchainLookup`
 * makes viem fetch the URLs the revert names, so a malicious RPC could make every client fetch URLs
 * of its choosing. Nothing Anonify calls uses it.
 */
export function chainClient(rpcUrl: string, options: ChainClientOptions = {}): ChainClient {
  return createClient({
    transport: http(rpcUrl, { fetchFn: options.fetch }),
    pollingInterval: options.pollingIntervalMs,
    ccipRead: false,
  });
}
