// The group calls: this enclave's key package, the commit the group needs next (adds, removes,
// rotation), and what the enclave reports of its group and ledger.
import { bytesToHex } from "viem";
import type { HandshakeProposal } from "../../boundary/call-results.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { handshakeDigest, keyPackageDigest } from "../../protocol/digests.js";
import { GENESIS_POSITION } from "../../protocol/event-chain.js";
import {
  admissionAt,
  type CallHandlers,
  type EnclaveContext,
  groupView,
  refuseIfDiverged,
  requireSession,
  sessionToChange,
} from "../context.js";
import { ensureKeyPackage, withDeclined } from "../group-member.js";
import { proposeCommit } from "../group-proposal.js";
import { groupSummary } from "../group-seal.js";
import { signDigest } from "../identity.js";
import { idleSealDue, sealState } from "./checkpoint.js";

export function groupCalls(
  context: EnclaveContext,
): Pick<CallHandlers, "keyPackage" | "proposeHandshake" | "groupStatus"> {
  return {
    /**
     * Signs the key package for the record nonce the host read on chain. The host may name any
     * nonce, but never a lower one than before: signatures it gathered ahead for later nonces then
     * all name nonces at or below the one a newer key package is first signed for, so on chain
     * (where nonces are used in order) none of them can land after it.
     */
    keyPackage: async ({ nonce: given }) => {
      const session = sessionToChange(context, "keyPackage");
      refuseIfDiverged(session);
      const nonce = BigInt(given);
      const signedBefore = session.group.keyPackageNonce;
      if (signedBefore !== undefined && nonce < signedBefore)
        throw new EnclaveCallError("stale_nonce", `key package already signed for nonce ${signedBefore}`);
      session.group = {
        ...(await ensureKeyPackage(session.group, session.identity.address)),
        keyPackageNonce: nonce,
      };
      const keyPackage = session.group.keyPackage;
      if (!keyPackage) throw new Error("ensureKeyPackage made no key package");
      return {
        keyPackage,
        signature: await signDigest(session.keys, keyPackageDigest(session.domain, nonce, keyPackage)),
        sealedState: await sealState(context, session),
      };
    },

    proposeHandshake: async ({ rotate = false }): Promise<HandshakeProposal> => {
      const session = sessionToChange(context, "proposeHandshake");
      // A member still waiting for its snapshot commits nothing: a commit that adds members needs a
      // complete ledger to capture theirs, and a rotation can wait until it has one. One that
      // diverged signs nothing again.
      if (session.ledger.syncing || session.diverged)
        return {
          handshake: null,
          sealedState: undefined,
          group: groupSummary(session.group, session.identity.address),
        };
      const proposal = await proposeCommit(
        session.group,
        session.identity.address,
        session.domain,
        rotate,
        // Judged at the chain's time as far as this enclave has read it: the receivers judge the
        // commit at its own block time, and so does this enclave when the chain orders it.
        admissionAt(context, session.cursor?.timestamp),
      );
      const changed = proposal.state !== session.group;
      // Why a published key package is not added is reported, not sealed (it is judged again at each
      // proposal, and its reason may name the chain's time): it alone calls for no seal.
      session.group = withDeclined(proposal.state, proposal.declined);
      // Asked many times a second with nothing to do: seal when something changed here, or when the
      // state moved on since its last seal and no event brought a seal at the interval.
      const sealedState =
        changed || idleSealDue(context, session) ? await sealState(context, session) : undefined;
      const group = groupSummary(session.group, session.identity.address);
      if (!proposal.handshake) return { handshake: null, sealedState, group };
      const handshake = bytesToHex(proposal.handshake);
      const slot = session.group.slot;
      // Made at this enclave's cursor: the signature names the head its history reached there.
      const base = session.cursor
        ? { seq: BigInt(session.cursor.seq), head: session.cursor.head }
        : GENESIS_POSITION;
      const rotation = proposal.rotation ?? false;
      return {
        handshake,
        epoch: slot.toString(),
        rotation,
        baseSeq: base.seq.toString(),
        signature: await signDigest(
          session.keys,
          handshakeDigest(session.domain, slot, handshake, rotation, base),
        ),
        sealedState,
        group,
      };
    },

    groupStatus: () => groupView(requireSession(context), context.appId),
  };
}
