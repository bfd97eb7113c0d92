// Users' commands: opened, checked (signature, nonce, params) and queued by `submitCommand`; their
// state and sealed receipt by `commandStatus`. A refusal after decryption crosses the host as a code
// only: the reason may name the command, a parameter or the sender's nonce, so it is sealed to the
// sender's response key.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { CommandStatusAnswer } from "../../boundary/calls.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import type { LedgerDomain } from "../../protocol/digests.js";
import { U64_MAX } from "../../protocol/wire.js";
import { CommandRejected, openCommand, sealReceipt, type VerifiedCommand } from "../command-intake.js";
import { commandStatus, enqueue, type LedgerAppState } from "../confidential-ledger.js";
import { type CallHandlers, type EnclaveContext, requireSession, sessionToChange } from "../context.js";
import { journal } from "./checkpoint.js";

/** The sequence a refusal receipt carries: it was never ordered. */
export const REFUSED_SEQUENCE = U64_MAX;
const REFUSED_MESSAGE = "the enclave refused the command; the reason is sealed to its response key";

/** A command's state as the host may see it; its receipt, if any, sealed to the sender's response key. */
export async function statusAnswer(
  ledger: LedgerAppState,
  domain: LedgerDomain,
  id: Hex,
): Promise<CommandStatusAnswer | undefined> {
  const status = commandStatus(ledger, id);
  if (!status) return undefined;
  if (!status.stored) return { id, status: status.status };
  const { receipt, responseKey } = status.stored;
  const sealed = await sealReceipt(responseKey, { ...receipt, command: id }, domain);
  return { id, status: status.status, sequence: receipt.sequence.toString(), receipt: bytesToHex(sealed) };
}

/** Rethrows a refusal of the envelope itself (before its content is known) as the boundary's error. */
export function refusedEnvelope(error: unknown): never {
  if (error instanceof CommandRejected) throw new EnclaveCallError(error.code, error.reason);
  throw error;
}

export function commandCalls(context: EnclaveContext): Pick<CallHandlers, "submitCommand" | "commandStatus"> {
  return {
    submitCommand: async ({ envelope }) => {
      const session = sessionToChange(context, "submitCommand");
      let command: VerifiedCommand;
      try {
        command = await openCommand(session.keys.hpkePrivateKey, session.domain, hexToBytes(envelope), {
          app: context.app.name,
        });
      } catch (error) {
        refusedEnvelope(error);
      }
      try {
        if (commandStatus(session.ledger, command.digest))
          throw new CommandRejected("replayed_nonce", "this command was already accepted");
        session.ledger = enqueue(session.ledger, context.app, command);
        const queued = session.ledger.queue.at(-1);
        if (!queued) throw new Error("enqueue queued nothing");
        return {
          id: command.digest,
          journal: await journal(context, session, { kind: "accepted", queued }),
        };
      } catch (error) {
        if (!(error instanceof CommandRejected)) throw error;
        const sealed = await sealReceipt(
          command.responseKey,
          {
            command: command.digest,
            sequence: REFUSED_SEQUENCE,
            status: "failed",
            reason: `${error.code}: ${error.reason}`,
          },
          session.domain,
        );
        throw new EnclaveCallError(error.code, REFUSED_MESSAGE, bytesToHex(sealed));
      }
    },

    commandStatus: async ({ id }) => {
      const session = requireSession(context);
      const answer = await statusAnswer(session.ledger, session.domain, id.toLowerCase() as Hex);
      if (!answer) throw new EnclaveCallError("not_found", "no command with this id is known here");
      return answer;
    },
  };
}
