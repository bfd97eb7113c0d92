// Waiting on a network's shared state: the MLS group formed (or moved on), commands applied everywhere.
import type { GroupSummary, LedgerSummary } from "../../src/host/node-host.js";
import { until } from "./wait.js";

/** What a node says of its group, whether read from the node itself or through its API or CLI. */
export type GroupView = {
  member?: boolean;
  members: readonly string[];
  epoch?: string | null;
  epochKeyFingerprint?: string | null;
  pending?: boolean;
};

/** Anything that reports its group and ledger the way `EnclaveNode` does. */
export type StatusSource = { groupStatus(): Promise<{ group: GroupSummary; ledger: LedgerSummary }> };

export type GroupWait<V> = {
  /** The group size to wait for (default: one member per view). */
  size?: number;
  /** A further condition on the agreed group, e.g. an epoch after a rotation. */
  where?: (group: V) => boolean;
  /** Names the wait in a timeout's message. */
  what?: string;
};

/**
 * Waits until every view is a member of one group of `size` at the same epoch with the same key,
 * nothing pending, and `where` holds; returns the first view.
 */
export function waitForGroupViews<V extends GroupView>(
  read: () => Promise<V[]>,
  { size, where = () => true, what }: GroupWait<V> = {},
): Promise<V> {
  return until(what ?? "the group to form", async () => {
    const views = await read();
    const first = views[0];
    if (!first) return undefined;
    const agreed = views.every(
      (v) =>
        v.member !== false &&
        !v.pending &&
        v.epoch === first.epoch &&
        v.epochKeyFingerprint === first.epochKeyFingerprint &&
        v.members.length === (size ?? views.length),
    );
    return agreed && where(first) ? first : undefined;
  });
}

/** `waitForGroupViews` on nodes: they share one group (of `nodes.length` members unless `size` says). */
export function waitForGroup(nodes: readonly StatusSource[], wait: GroupWait<GroupSummary> = {}) {
  return waitForGroupViews(() => Promise.all(nodes.map(async (n) => (await n.groupStatus()).group)), {
    what: `${nodes.length} nodes to share a group of ${wait.size ?? nodes.length}`,
    ...wait,
  });
}

/** The nodes' group after a rotation: the same members, at an epoch other than `before`'s. */
export function waitForRotation(nodes: readonly StatusSource[], before: { epoch?: string | null }) {
  return waitForGroup(nodes, { what: "the rotation", where: (g) => g.epoch !== before.epoch });
}

const sequences = (nodes: readonly StatusSource[]) =>
  Promise.all(nodes.map(async (n) => BigInt((await n.groupStatus()).ledger.sequence)));

/** Every node has applied at least `sequence` commands. */
export function waitForApplied(nodes: readonly StatusSource[], sequence: bigint): Promise<true> {
  return until(`${nodes.length} nodes to apply ${sequence} commands`, async () =>
    (await sequences(nodes)).every((s) => s >= sequence) ? true : undefined,
  );
}

/** Every node has applied the same commands (none ordered is missing anywhere); returns their count. */
export function waitForSameSequence(nodes: readonly StatusSource[]): Promise<bigint> {
  return until(`${nodes.length} nodes to come to the same sequence`, async () => {
    const seen = await sequences(nodes);
    return seen.every((s) => s === seen[0]) ? seen[0] : undefined;
  });
}
