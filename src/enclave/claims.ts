// The signed outputs of other enclaves, checked against this enclave's own history. A batch, a
// handshake and a snapshot commitment each name the point of the event sequence their signer made
// them at, and their signature covers the head the contract holds there (it refused them otherwise);
// a batch and a commitment also carry the signer's state digest there. The host feeds them, and
// could change any field, but not the signature: so an event whose signature does not verify against
// this enclave's own head at that point, or whose state digest is not this enclave's own there, shows
// that this enclave's history (what its host fed it) or its state is not the network's. Divergence is
// never silent: the enclave stops there (events.ts).
import type { Hex } from "viem";
import type { Divergence } from "../boundary/call-results.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import {
  batchDigest,
  type ChainPosition,
  handshakeDigest,
  type LedgerDomain,
  snapshotDigest,
} from "../protocol/digests.js";
import { signedBy } from "../protocol/signatures.js";
import { type History, pointAt } from "./history.js";
import type { RegistryView } from "./registry.js";

type SignedEvent = Extract<
  LedgerEvent,
  { kind: "BatchSubmitted" | "HandshakeCommitted" | "SnapshotCommitted" }
>;

const isSigned = (event: LedgerEvent): event is SignedEvent =>
  event.kind === "BatchSubmitted" ||
  event.kind === "HandshakeCommitted" ||
  event.kind === "SnapshotCommitted";

/** The point a signed event names, and what its signer signed there. */
function signedDigest(
  event: SignedEvent,
  base: ChainPosition,
  domain: LedgerDomain,
  registry: RegistryView,
): Hex {
  switch (event.kind) {
    case "BatchSubmitted":
      return batchDigest(
        domain,
        {
          epoch: BigInt(event.epoch),
          nonce: batchesOf(registry, event.enclave),
          ciphertext: event.ciphertext,
          count: event.count,
        },
        base,
        event.stateDigest,
      );
    case "HandshakeCommitted":
      return handshakeDigest(domain, BigInt(event.epoch), event.handshake, event.rotation, base);
    case "SnapshotCommitted":
      return snapshotDigest(
        domain,
        BigInt(event.nonce),
        BigInt(event.epoch),
        base,
        event.stateDigest,
        event.snapshotHash,
      );
  }
}

/** The batches an enclave had ordered so far: its batch nonce on chain, which its next batch signs. */
export const batchesOf = (registry: RegistryView, enclave: Hex): bigint =>
  registry.enclaves[enclave.toLowerCase()]?.batches ?? 0n;

/**
 * Why `event` shows this enclave's history or state is not the network's, if it does: its signature
 * does not verify against this enclave's head at the point it names, or the state digest it carries
 * is not this enclave's own there (where this enclave computed one) and its signer is a member.
 */
export function divergenceIn(
  event: LedgerEvent,
  history: History,
  registry: RegistryView,
  domain: LedgerDomain,
  /** Whether the signer is a member of this enclave's group now (asked only on a digest that differs). */
  isMember: (enclave: Hex) => boolean,
): Divergence | undefined {
  if (!isSigned(event)) return undefined;
  const seq = BigInt(event.seq);
  const baseSeq = BigInt(event.kind === "SnapshotCommitted" ? event.at : event.baseSeq);
  const found = (reason: string, digests?: { ours?: Hex; theirs?: Hex }): Divergence => ({
    seq: event.seq,
    kind: event.kind,
    reason,
    ...digests,
  });
  const point = baseSeq < seq ? pointAt(history, baseSeq) : undefined;
  if (!point)
    return found(
      `${event.enclave} signed it at event ${baseSeq}, which this enclave's history does not hold before event ${seq}`,
    );
  const base = { seq: baseSeq, head: point.head };
  if (!signedBy(signedDigest(event, base, domain, registry), event.signature, event.enclave))
    return found(
      `its signature by ${event.enclave} does not verify against this enclave's history at event ${baseSeq}`,
    );
  // A digest counts only from a member: any active enclave can put a batch on chain (the contract
  // checks its signature, not its state), and the owner can register one whose keys it holds.
  if (
    event.kind !== "HandshakeCommitted" &&
    point.digest !== undefined &&
    point.digest !== event.stateDigest &&
    isMember(event.enclave)
  )
    return found(`the state digest at event ${baseSeq} is not this enclave's`, {
      ours: point.digest,
      theirs: event.stateDigest,
    });
  return undefined;
}
