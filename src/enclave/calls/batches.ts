// The batches this enclave offers its host to submit: encrypted under the current epoch key,
// padded, and signed for the contract with consecutive batch nonces, so several can be in flight
// and still land in order. A new epoch re-seals the ones in flight with the same commands.
import type { Hex } from "viem";
import type { BatchOffer } from "../../boundary/calls.js";
import { epochOf } from "../../group/mls.js";
import { DEFAULT_BATCH_COMMANDS } from "../../protocol/batch.js";
import { inFlightDigest, nextBatches } from "../confidential-ledger.js";
import { type CallHandlers, type EnclaveContext, sessionToChange } from "../context.js";
import { signDigest } from "../identity.js";
import { journalBatches } from "./checkpoint.js";

export function batchCalls(context: EnclaveContext): Pick<CallHandlers, "sealBatch"> {
  return {
    sealBatch: async ({ maxCommands = DEFAULT_BATCH_COMMANDS, maxInFlight = 1, known = [] }) => {
      const session = sessionToChange(context, "sealBatch");
      const knownSignatures = new Set(known.map((k) => k.toLowerCase()));
      const { group, epochKey } = session.group;
      if (!group || !epochKey || session.ledger.syncing)
        return {
          batches: [],
          queued: session.ledger.queue.length,
          journal: undefined,
          reason: session.ledger.syncing ? "waiting for a state snapshot" : "not a group member",
        };
      const next = nextBatches(
        session.ledger,
        { slot: session.group.slot, mlsEpoch: epochOf(group), epochKey, domain: session.domain },
        { maxCommands, maxInFlight },
      );
      const changed = next !== session.ledger;
      session.ledger = next;
      // Offered on every call until they land: each batch is hashed and signed once.
      const signatures = new Map<Hex, Hex>();
      const batches: BatchOffer[] = [];
      for (const b of next.inFlight) {
        const signature =
          context.batchSignatures.get(b.ciphertext) ??
          (await signDigest(session.keys, inFlightDigest(b, session.domain)));
        signatures.set(b.ciphertext, signature);
        batches.push({
          epoch: b.slot.toString(),
          nonce: b.nonce.toString(),
          ciphertext: knownSignatures.has(signature.toLowerCase()) ? undefined : b.ciphertext,
          count: b.count,
          enclave: session.identity.address,
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
