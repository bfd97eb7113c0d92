// Rolling a node back past a chain reorganisation: the newest checkpoint whose cursor is at or before
// the fork, restored in a fresh enclave process (an enclave takes one restore), becomes the one a
// restart resumes from.
import type { EventCursor } from "../boundary/chain-events.js";
import type { EnclaveCalls } from "./enclave-process.js";
import type { SealedCopy, SealedStore } from "./sealed-store.js";

export type RollbackDeps = {
  /** Restores `sealed` into `enclave`; answers the cursor it resumes from. */
  restore(enclave: EnclaveCalls, sealed: SealedCopy): Promise<EventCursor | undefined>;
  /** A new enclave process with the node's identity, for the next candidate. */
  fresh(): Promise<EnclaveCalls>;
};

/**
 * Restores the newest checkpoint at or before block `ancestor` (the candidates are tagged with the
 * cursor they were sealed at; the restore tells the exact one). None left: the node cannot follow the
 * canonical chain without a deeper backup, and says so.
 */
export async function rollBack(
  store: SealedStore,
  fresh: EnclaveCalls,
  ancestor: bigint,
  deps: RollbackDeps,
): Promise<EventCursor | undefined> {
  let enclave = fresh;
  for (const { checkpoint, ...sealed } of store.rollbackCandidates(ancestor)) {
    const cursor = await deps.restore(enclave, sealed);
    if (cursor === undefined || BigInt(cursor.block) <= ancestor) {
      store.adopt(checkpoint);
      return cursor;
    }
    enclave = await deps.fresh();
  }
  throw new Error(
    `no checkpoint kept at or before block ${ancestor}: the reorganisation is deeper than this node can roll back; restore a backup`,
  );
}
