// Nodes' public `/v1/status` (the explorer reads other nodes too: their API answers it with CORS).
// A node may lie in it: the page shows it as that node's word, next to what the chain says.

export type NodeStatus = {
  enclave: string;
  platform: string;
  chainHead: string;
  synced: boolean;
  epoch: string | null;
  slot: string;
  member: boolean;
  members: string[];
  epochKeyFingerprint: string | null;
  lastHandshake: { slot: string; enclave: string; outcome: string } | null;
  rotationPending: boolean;
  appliedSequence: string;
  batches: string;
  queued: number;
};

/** Nodes the explorer watches: this page's own, then those the user added (kept in this browser). */
const STORAGE_KEY = "anonify.nodes";

export function watchedNodes(): string[] {
  const added = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]") as string[];
  const fromQuery = new URLSearchParams(location.search).getAll("node");
  return [...new Set([location.origin, ...fromQuery, ...added])];
}

export function addNode(url: string): void {
  const origin = new URL(url).origin;
  const added = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]") as string[];
  if (!added.includes(origin)) localStorage.setItem(STORAGE_KEY, JSON.stringify([...added, origin]));
}

export async function nodeStatus(node: string): Promise<NodeStatus> {
  const res = await fetch(new URL("/v1/status", node));
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return (await res.json()) as NodeStatus;
}
