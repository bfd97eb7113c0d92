// Users' commands: opened, checked (signature, nonce, params) and queued by `submitCommand`, which
// answers a command it took before (a resend) as it answered the first; their state and sealed
// receipt by `commandStatus`. Refusals cross the host by stage (`refusal`): those
// decided from the envelope's public bytes, or the node's load, with their code; every one decided
// after opening as the one code `refused`, its reason — which may name the command, a parameter or
// the sender's nonce — sealed under the sender's response key.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { CommandStatusAnswer } from "../../boundary/call-results.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { isEnvelopeRefusal, REFUSED } from "../../boundary/refusal-codes.js";
import type { LedgerDomain } from "../../protocol/digests.js";
import { admit, commandStatus, type LedgerAppState, queueFull } from "../confidential-ledger.js";
import {
  type CallHandlers,
  type EnclaveContext,
  refuseIfDiverged,
  refuseIfRetired,
  requireSession,
  type Session,
  sessionToChange,
} from "../context.js";
import { type History, pointAt } from "../history.js";
import { incompleteLedger } from "../ledger-snapshot.js";
import { sealReceipt, sealRefusal } from "../replies.js";
import { CommandRejected, openCommand, type ReplyTo, type VerifiedCommand } from "../signed-messages.js";
import { journal } from "./checkpoint.js";

export { REFUSED_SEQUENCE } from "../replies.js";

const REFUSED_MESSAGE = "the enclave refused the message; the reason is sealed to its response key";

/**
 * Refuses, before anything is opened, to answer from a ledger that is not complete (a joiner waiting
 * for its snapshot, a node outside the group after batches it could not read): `syncing`. What the
 * node's state is, is public (its host sees the same events).
 */
export function refuseWhileIncomplete(session: Session): void {
  refuseIfDiverged(session);
  const reason = incompleteLedger(session.ledger, session.group.group !== undefined);
  if (reason) throw new EnclaveCallError("syncing", reason);
}

/**
 * A command's state as the host may see it; its receipt, if any, sealed to the sender's response
 * key, naming the state digest after its batch where `history` still holds it.
 */
export async function statusAnswer(
  ledger: LedgerAppState,
  history: History,
  domain: LedgerDomain,
  id: Hex,
): Promise<CommandStatusAnswer | undefined> {
  const status = commandStatus(ledger, id);
  if (!status) return undefined;
  if (!status.stored) return { id, status: status.status };
  const { receipt, responseKey } = status.stored;
  const digest = receipt.batch && pointAt(history, receipt.batch.seq)?.digest;
  const batch = receipt.batch && (digest ? { ...receipt.batch, digest } : receipt.batch);
  const sealed = sealReceipt(responseKey, { ...receipt, batch, command: id }, domain);
  return {
    id,
    status: status.status,
    sequence: receipt.sequence.toString(),
    block: receipt.batch?.block.toString(),
    receipt: bytesToHex(sealed),
  };
}

/**
 * A refusal of a sealed command or query as it crosses the host. One decided before opening, from
 * public data, keeps its code and reason; any other is `refused` with a generic message, its precise
 * code and reason sealed to the sender when the message was decoded far enough to name one
 * (`replyTo`, or the verified message's `fallback`) and its key can be sealed to. Not a refusal:
 * rethrown.
 */
export async function refusal(
  error: unknown,
  kind: "command" | "query",
  domain: LedgerDomain,
  fallback?: ReplyTo,
): Promise<EnclaveCallError> {
  if (!(error instanceof CommandRejected)) throw error;
  if (error.stage === "envelope" && isEnvelopeRefusal(error.code)) {
    return new EnclaveCallError(error.code, error.reason);
  }
  const replyTo = error.replyTo ?? fallback;
  let sealed: Uint8Array | undefined;
  if (replyTo !== undefined) {
    try {
      sealed = sealRefusal(kind, error, replyTo, domain);
    } catch (sealing) {
      // A reason too large to seal: the sender gets the bare code.
      if (!(sealing instanceof CommandRejected)) throw sealing;
    }
  }
  return new EnclaveCallError(REFUSED, REFUSED_MESSAGE, sealed && bytesToHex(sealed));
}

export function commandCalls(context: EnclaveContext): Pick<CallHandlers, "submitCommand" | "commandStatus"> {
  return {
    submitCommand: async ({ envelope }) => {
      const session = sessionToChange(context, "submitCommand");
      // The node's load, known before opening: nothing of the command is read to refuse it.
      if (queueFull(session.ledger)) {
        throw new EnclaveCallError("queue_full", "the node's queue is full; try again later");
      }
      refuseWhileIncomplete(session);
      refuseIfRetired(session, context.appId);
      let command: VerifiedCommand | undefined;
      try {
        command = await openCommand(session.keys.hpkePrivateKey, session.domain, hexToBytes(envelope), {
          app: context.app.name,
          signatures: context.signatures,
        });
        // Taken before (the same digest: the same signed command, resent after its answer was lost):
        // answered as then, and nothing changes — not queued, journaled or applied twice. Nothing in
        // the acceptance is sealed to the sender: the id is the digest the host saw in the first
        // answer, and where the command stands it could ask by id (`commandStatus`), so answering
        // again tells the host only that the same command came twice, which the id shows it anyway.
        // The receipt of an ordered command comes with the status the client asks next.
        const before = commandStatus(session.ledger, command.digest);
        if (before) return { id: command.digest, repeated: before.status };
        session.ledger = admit(session.ledger, context.app, command);
        const queued = session.ledger.queue.at(-1);
        if (!queued) throw new Error("admit queued nothing");
        return {
          id: command.digest,
          journal: await journal(context, session, { kind: "accepted", queued }),
        };
      } catch (error) {
        throw await refusal(
          error,
          "command",
          session.domain,
          command && { responseKey: command.responseKey, digest: command.digest },
        );
      }
    },

    commandStatus: async ({ id }) => {
      const session = requireSession(context);
      refuseWhileIncomplete(session);
      const answer = await statusAnswer(session.ledger, session.history, session.domain, id);
      // A receipt from before the upgrade stands; a command not ordered by then never will be here.
      if (!answer?.receipt) refuseIfRetired(session, context.appId);
      if (!answer) throw new EnclaveCallError("not_found", "no command with this id is known here");
      return answer;
    },
  };
}
