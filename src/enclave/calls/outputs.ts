// Public outputs of batches (src/protocol/public-outputs.ts). Applying a batch, every member computes
// what its commands published; the enclave that submitted the batch signs the record for its host to
// publish (`publishOutputs`), and every member keeps, for the last OUTPUTS_WINDOW batches it applied,
// the hash of its own record. The host feeds the records it sees on chain back (`checkOutputs`): one
// signed by the batch's submitter over another record than this enclave's is that enclave's
// divergence (its state or its app is not the network's), and this enclave stops as for any other
// (`diverged`), since it cannot tell which side is wrong. A record signed by no one (a host's forgery)
// is refused, changing nothing. A record the host withholds only goes unchecked.
//
// The window is this session's memory, not sealed: after a restart the batches applied before it go
// unchecked (the check costs nothing to skip, and nothing to apply depends on it).
import { bytesToHex, type Hex, keccak256 } from "viem";
import type { OutputsRecord } from "../../boundary/call-results.js";
import type { LedgerEvent } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { outputsDigest } from "../../protocol/digests.js";
import { encodeOutputs, type PublicOutput } from "../../protocol/public-outputs.js";
import { signedBy } from "../../protocol/signatures.js";
import type { LedgerAppState } from "../confidential-ledger.js";
import {
  type CallHandlers,
  type EnclaveContext,
  refuseIfDiverged,
  type Session,
  sessionToChange,
} from "../context.js";
import { signDigest } from "../identity.js";
import { fullSealDue, sealState } from "./checkpoint.js";

/** Batches whose own outputs a member keeps to check published records against. */
export const OUTPUTS_WINDOW = 1024n;

/** What this enclave computed of one batch it applied: who submitted it, where, and its record's hash. */
type Computed = { enclave: Hex; seq: bigint; head: Hex; hash: Hex | undefined };

/** Per session (a restore starts a new one): batch index → what this enclave computed. */
const windows = new WeakMap<Session, Map<bigint, Computed>>();

const windowOf = (session: Session): Map<bigint, Computed> => {
  const held = windows.get(session);
  if (held) return held;
  const window = new Map<bigint, Computed>();
  windows.set(session, window);
  return window;
};

/**
 * Notes batch `event`'s outputs as this enclave computed them (`before` → `after`: the ledger around
 * its apply; a batch it skipped is not noted) and, if this enclave submitted it and it published
 * anything, the signed record for the host to publish.
 */
export async function noteOutputs(
  session: Session,
  event: Extract<LedgerEvent, { kind: "BatchSubmitted" }>,
  ledgers: { before: LedgerAppState; after: LedgerAppState },
  outputs: readonly PublicOutput[],
): Promise<OutputsRecord | undefined> {
  if (ledgers.after.skippedBatches !== ledgers.before.skippedBatches) return undefined;
  const batch = BigInt(event.batch);
  const seq = BigInt(event.seq);
  const record = outputs.length > 0 ? bytesToHex(encodeOutputs(outputs)) : undefined;
  const window = windowOf(session);
  window.set(batch, { enclave: event.enclave, seq, head: event.head, hash: record && keccak256(record) });
  window.delete(batch - OUTPUTS_WINDOW);
  if (!record || event.enclave !== session.identity.address.toLowerCase()) return undefined;
  const digest = outputsDigest(session.domain, batch, { seq, head: event.head }, record);
  return {
    batch: event.batch,
    seq: event.seq,
    outputs: record,
    signature: await signDigest(session.keys, digest),
  };
}

export function outputsCalls(context: EnclaveContext): Pick<CallHandlers, "checkOutputs"> {
  return {
    checkOutputs: async ({ records }) => {
      const session = sessionToChange(context, "checkOutputs");
      refuseIfDiverged(session);
      const window = windowOf(session);
      let checked = 0;
      for (const record of records) {
        const batch = BigInt(record.batch);
        const ours = window.get(batch);
        if (!ours) continue; // not applied here (yet, or before this session): unchecked
        const at = { seq: ours.seq, head: ours.head };
        if (
          BigInt(record.seq) !== ours.seq ||
          !signedBy(outputsDigest(session.domain, batch, at, record.outputs), record.signature, ours.enclave)
        )
          throw new EnclaveCallError(
            "invalid_argument",
            `the outputs record of batch ${batch} is not signed by its submitter ${ours.enclave} at event ${ours.seq}`,
          );
        checked++;
        const theirs = keccak256(record.outputs);
        if (theirs === ours.hash) continue;
        session.diverged = {
          seq: ours.seq.toString(),
          kind: "OutputsPublished",
          reason: `batch ${batch}: enclave ${ours.enclave} published outputs that are not this enclave's`,
          ...(ours.hash ? { ours: ours.hash } : {}),
          theirs,
        };
        break;
      }
      const diverged = session.diverged;
      return {
        checked,
        diverged,
        sealedState: diverged && fullSealDue(context, true) ? await sealState(context, session) : undefined,
      };
    },
  };
}
