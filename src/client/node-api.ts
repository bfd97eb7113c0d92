// The client's side of a node's REST API: JSON requests whose refusals become named errors, and the
// check that a node serves the chain and contract of the user's own network profile.
import type { Hex } from "viem";
import { AnonifyClientError } from "./errors.js";
import type { ChainTarget } from "./network-profile-format.js";

export async function nodeJson<T>(
  fetcher: typeof globalThis.fetch,
  node: string,
  path: string,
  init?: RequestInit,
): Promise<T> {
  const res = await fetcher(new URL(path, node), {
    ...init,
    headers: init?.body ? { "content-type": "application/json" } : undefined,
  });
  const body = (await res.json()) as T & { code?: string; message?: string; sealedReason?: Hex };
  if (!res.ok) {
    throw new AnonifyClientError(
      body.code ?? `http_${res.status}`,
      body.message ?? res.statusText,
      body.sealedReason,
    );
  }
  return body;
}

/** What a node says of itself in `/v1/status`, as far as the client checks it. */
export type NodeNetwork = { chainId?: unknown; contract?: unknown };

/** Throws `wrong_network` unless the node's status names the chain id and contract of `network`. */
export function checkNodeNetwork(status: NodeNetwork, network: ChainTarget, node: string): void {
  if (
    status.chainId !== network.chainId ||
    typeof status.contract !== "string" ||
    status.contract.toLowerCase() !== network.contract.toLowerCase()
  ) {
    throw new AnonifyClientError(
      "wrong_network",
      `the node ${node} serves chain ${String(status.chainId)} and contract ${String(status.contract)}, ` +
        `not the profile's chain ${network.chainId} and contract ${network.contract}`,
    );
  }
}
