// The client's side of a node's REST API: JSON requests whose refusals become named errors, and the
// check that a node serves the chain and contract of the user's own network profile.
import type { Hex } from "viem";
import { AnonifyClientError } from "./errors.js";
import type { ChainTarget } from "./network-profile-format.js";

/** A node holds as many waiting requests (`?wait`) as it may, and refused this one before running anything. */
const WAITING_FULL = "waiting_full";
/** How long to leave a node alone after `waiting_full` when it names no `Retry-After`. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
const MS_PER_SECOND = 1_000;

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
  const text = await res.text();
  let body: T & { code?: string; message?: string; sealedReason?: Hex };
  try {
    body = JSON.parse(text);
  } catch {
    // A proxy's error page, or a server that is no Anonify node: named, not a SyntaxError.
    throw new AnonifyClientError(
      res.ok ? "malformed" : `http_${res.status}`,
      `${node} answered ${res.status} ${res.statusText} with a body that is not JSON`,
    );
  }
  if (!res.ok) {
    const retryAfter = res.headers.get("retry-after");
    throw new AnonifyClientError(
      body.code ?? `http_${res.status}`,
      body.message ?? res.statusText,
      body.sealedReason,
      retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * MS_PER_SECOND : undefined,
    );
  }
  return body;
}

/**
 * `ask(waitMs)`, or, when the node refuses to hold one more waiting request (503 `waiting_full`: a
 * flood may keep every slot taken; nothing ran), `ask(0)`: the command is accepted, or its status
 * told, without a slot. Else a client would fail under a flood what the node would do for it. With
 * `pause`, first as long as the node asked (`Retry-After`, at most `waitMs`, which the caller meant
 * to spend waiting anyway), so that a caller asking again in a loop does not spin.
 */
export async function askWithoutWaitIfFull<T>(
  ask: (waitMs: number) => Promise<T>,
  waitMs: number,
  pause: boolean,
): Promise<T> {
  try {
    return await ask(waitMs);
  } catch (error) {
    if (waitMs <= 0 || !(error instanceof AnonifyClientError) || error.code !== WAITING_FULL) throw error;
    const pauseMs = pause ? Math.min(error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS, waitMs) : 0;
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    return ask(0);
  }
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
