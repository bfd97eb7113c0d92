// State snapshots for joiners (src/enclave/ledger-snapshot.ts): the producer's host reads the bytes
// its enclave captured (`snapshotChunk`) and has their hash signed for the chain (`signSnapshot`);
// the joiner's host hands the bytes it fetched to its enclave (`installSnapshot`).

import { migrateState } from "../../app/app.js";
import { SNAPSHOT_CHUNK_BYTES } from "../../boundary/calls.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { bytesOfHex, hexOf } from "../../boundary/sealed-checkpoint.js";
import { appStateOf, snapshotDigest } from "../../protocol/digests.js";
import { upgradeIn } from "../app-upgrade.js";
import { ledgerSummary } from "../confidential-ledger.js";
import {
  type CallHandlers,
  type EnclaveContext,
  refuseIfDiverged,
  requireSession,
  sessionToChange,
} from "../context.js";
import { digestAtCursor } from "../history.js";
import { signDigest } from "../identity.js";
import { installSnapshot, type SnapshotMigration, SnapshotRefused } from "../ledger-snapshot.js";
import type { RegistryView } from "../registry.js";

/**
 * Where a signed policy upgraded the network to this enclave's app (app-upgrade.ts): the snapshot of
 * the app upgraded from that it may take, and its migration. The older app has this one's name (an
 * upgrade of this app), so its state digests name that name and the document's state version.
 */
function migrationTo(context: EnclaveContext, registry: RegistryView): SnapshotMigration | undefined {
  const upgrade = upgradeIn(registry);
  if (upgrade?.to !== context.appId) return undefined;
  const from = {
    name: context.app.name,
    codeHash: context.config.appCodeHash,
    stateVersion: upgrade.fromVersion,
  };
  return {
    appState: appStateOf(from),
    after: upgrade.at.seq,
    migrate: (state) => migrateState(context.app, state, upgrade.fromVersion),
  };
}

export function snapshotCalls(
  context: EnclaveContext,
): Pick<CallHandlers, "snapshotChunk" | "signSnapshot" | "installSnapshot"> {
  return {
    snapshotChunk: ({ hash, offset }) => {
      requireSession(context);
      const bytes = context.snapshotBytes.get(hash);
      if (!bytes) throw new EnclaveCallError("not_found", "no snapshot with this hash is held here");
      if (offset > bytes.length)
        throw new EnclaveCallError("invalid_argument", "offset is past the snapshot's end");
      return {
        // Through Buffer: viem's byte-at-a-time hex took seconds per 4 MiB piece (sealed-checkpoint.ts).
        bytes: hexOf(bytes.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES)),
        total: bytes.length,
      };
    },

    /**
     * Only a snapshot this enclave captured itself (its record, sealed with its state, names it), so
     * a host cannot have its enclave vouch for bytes it made up. The nonce is the record nonce, as
     * for key packages; a wrong one only makes the host's own transaction fail.
     */
    signSnapshot: async ({ nonce, hash }) => {
      const session = requireSession(context);
      // A diverged enclave's digest would stop every member whose own differs.
      refuseIfDiverged(session);
      const produced = session.ledger.produced.find((p) => p.hash === hash);
      if (!produced)
        throw new EnclaveCallError("not_found", "this enclave produced no snapshot with this hash");
      const digest = snapshotDigest(
        session.domain,
        BigInt(nonce),
        produced.slot,
        produced.at,
        produced.digest,
        produced.hash,
      );
      return {
        signature: await signDigest(session.keys, digest),
        slot: produced.slot.toString(),
        at: produced.at.seq.toString(),
        stateDigest: produced.digest,
      };
    },

    installSnapshot: async ({ bytes, offset = 0, total, commitment }) => {
      const session = sessionToChange(context, "installSnapshot");
      refuseIfDiverged(session);
      if (!session.ledger.syncing) {
        context.incomingSnapshot = undefined;
        throw new EnclaveCallError("not_syncing", "this enclave's ledger is complete: it takes no snapshot");
      }
      const piece = bytesOfHex(bytes); // the call's schema checked it is hex
      const size = total ?? offset + piece.length;
      if (offset === 0) context.incomingSnapshot = { bytes: new Uint8Array(size), received: 0 };
      const incoming = context.incomingSnapshot;
      if (
        !incoming ||
        offset !== incoming.received ||
        size !== incoming.bytes.length ||
        offset + piece.length > size
      ) {
        context.incomingSnapshot = undefined;
        throw new EnclaveCallError(
          "snapshot_invalid",
          "snapshot pieces must come in order, each naming the same total; start again at offset 0",
        );
      }
      incoming.bytes.set(piece, offset);
      incoming.received += piece.length;
      if (incoming.received < size)
        return {
          installed: false,
          received: incoming.received,
          ledger: ledgerSummary(session.ledger),
        };
      context.incomingSnapshot = undefined;
      const registry = session.group.registry;
      try {
        session.ledger = installSnapshot(
          session.ledger,
          session.domain,
          incoming.bytes,
          { ...commitment, nonce: BigInt(commitment.nonce) },
          (enclave) => registry.enclaves[enclave.toLowerCase()]?.state === "active",
          context.appState,
          migrationTo(context, registry),
        );
      } catch (error) {
        if (error instanceof SnapshotRefused) throw new EnclaveCallError(error.code, error.reason);
        throw error;
      }
      // The state digest at the cursor, under the current epoch's key: what this enclave's first
      // batches are sealed at (the positions between the join and the cursor keep none).
      digestAtCursor(session, context.appState);
      // Not sealed here: sealing the whole state (seconds at 100,000 accounts, and a checkpoint as
      // large through the host) would come before the node's first answer. It comes at the interval,
      // with the next event or the host's next tick (`idleSealDue`); a restart before then syncs again
      // from the sealed syncing state, with the commands journaled since (snapshots.test.ts).
      return { installed: true, received: size, ledger: ledgerSummary(session.ledger) };
    },
  };
}
