// The batches this enclave offers its host to submit: encrypted under the current epoch key,
// padded, and signed for the contract with consecutive batch nonces, so several can be in flight
// and still land in order, each at the point of the event sequence it was sealed at (this enclave's
// cursor) with its state digest there, which every member compares with its own. A new epoch
// re-seals the ones in flight with the same commands.
import type { Hex } from "viem";
import type { BatchOffer } from "../../boundary/call-results.js";
import { epochOf } from "../../group/mls.js";
import { DEFAULT_BATCH_COMMANDS } from "../../protocol/batch.js";
import { retirementIn } from "../app-upgrade.js";
import { type CallHandlers, type EnclaveContext, sessionToChange } from "../context.js";
import { digestAtCursor, pointAt } from "../history.js";
import { signDigest } from "../identity.js";
import { inFlightDigest, nextBatches } from "../ledger-batches.js";
import { journalBatches } from "./checkpoint.js";

export function batchCalls(context: EnclaveContext): Pick<CallHandlers, "sealBatch"> {
  return {
    sealBatch: async ({ maxCommands = DEFAULT_BATCH_COMMANDS, maxInFlight = 1, known = [] }) => {
      const session = sessionToChange(context, "sealBatch");
      const knownSignatures = new Set(known.map((k) => k.toLowerCase()));
      const { group, epochKey } = session.group;
      const cursor = session.cursor;
      const stateDigest = digestAtCursor(session, context.appState);
      const retired = retirementIn(session.group.registry, context.appId);
      const reason = session.diverged
        ? "this enclave diverged"
        : retired
          ? `its app was upgraded away from at event ${retired.seq}`
          : session.ledger.syncing
            ? "waiting for a state snapshot"
            : !group || !epochKey || !cursor || !stateDigest
              ? "not a group member"
              : undefined;
      if (reason || !group || !epochKey || !cursor || !stateDigest)
        return { batches: [], queued: session.ledger.queue.length, journal: undefined, reason };
      const next = nextBatches(
        session.ledger,
        {
          slot: session.group.slot,
          mlsEpoch: epochOf(group),
          epochKey,
          domain: session.domain,
          base: { seq: BigInt(cursor.seq), head: cursor.head },
          stateDigest,
          // A rollback past a reorganisation can leave batches signed at points the chain dropped.
          holds: (base) => pointAt(session.history, base.seq)?.head === base.head,
        },
        { maxCommands, maxInFlight },
      );
      const changed = next !== session.ledger;
      session.ledger = next;
      // Offered on every call until they land: each batch is hashed and signed once.
      const signatures = new Map<string, Hex>();
      const batches: BatchOffer[] = [];
      for (const b of next.inFlight) {
        // Signed once per ciphertext and point (a batch signed again at a newer point is another offer).
        const id = `${b.ciphertext}@${b.base.seq}`;
        const signature =
          context.batchSignatures.get(id) ??
          (await signDigest(session.keys, inFlightDigest(b, session.domain)));
        signatures.set(id, signature);
        batches.push({
          epoch: b.slot.toString(),
          nonce: b.nonce.toString(),
          ciphertext: knownSignatures.has(signature.toLowerCase()) ? undefined : b.ciphertext,
          count: b.count,
          enclave: session.identity.address,
          baseSeq: b.base.seq.toString(),
          stateDigest: b.stateDigest,
          signature,
        });
      }
      context.batchSignatures = signatures;
      return {
        batches,
        queued: session.ledger.queue.length,
        journal: changed ? await journalBatches(context, session) : undefined,
        reason: undefined,
      };
    },
  };
}
