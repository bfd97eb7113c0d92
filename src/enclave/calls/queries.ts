// Signed, sealed queries: the runtime's own `nextNonce`, then the app's queries, which decide what
// each caller may read. The answer is sealed to the caller's response key, and so is the reason of a
// refusal after opening (it crosses the host as `refused`: see `refusal` in ./commands.ts).
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { runQuery } from "../../app/executor.js";
import { pointOf } from "../../boundary/chain-events.js";
import type { LedgerPoint, QueryOutcome } from "../../protocol/receipts.js";
import { NEXT_NONCE_QUERY } from "../../protocol/wire.js";
import { nextNonce } from "../confidential-ledger.js";
import {
  type CallHandlers,
  type EnclaveContext,
  refuseIfRetired,
  requireSession,
  type Session,
} from "../context.js";
import { digestAtCursor } from "../history.js";
import { sealQueryAnswer } from "../replies.js";
import { openQuery, type VerifiedQuery } from "../signed-messages.js";
import { refusal, refuseWhileIncomplete } from "./commands.js";

const MS_PER_SECOND = 1000;

/** The point an answer reflects: the last event applied, and the state digest there. */
function answeredAt(session: Session, app: Hex): LedgerPoint {
  const digest = digestAtCursor(session, app);
  const at = pointOf(session.cursor);
  return digest ? { ...at, digest } : at;
}

export function queryCalls(context: EnclaveContext): Pick<CallHandlers, "query"> {
  return {
    query: async ({ envelope }) => {
      const session = requireSession(context);
      refuseWhileIncomplete(session);
      refuseIfRetired(session, context.appId);
      let query: VerifiedQuery | undefined;
      try {
        const now = BigInt(Math.floor(Date.now() / MS_PER_SECOND));
        query = await openQuery(session.keys.hpkePrivateKey, session.domain, hexToBytes(envelope), now, {
          app: context.app.name,
          signatures: context.signatures,
        });
        const outcome: QueryOutcome =
          query.name === NEXT_NONCE_QUERY
            ? { status: "ok", result: nextNonce(session.ledger, query.sender) }
            : runQuery(context.app, session.ledger.appState, {
                sender: query.sender,
                name: query.name,
                params: query.params,
                // The block time of the point the answer names (`at`): never this machine's clock.
                timestamp: BigInt(session.cursor?.timestamp ?? 0),
              });
        const sealed = sealQueryAnswer(
          query.responseKey,
          { ...outcome, query: query.digest, at: answeredAt(session, context.appState) },
          session.domain,
        );
        return { answer: bytesToHex(sealed) };
      } catch (error) {
        const replyTo = query && { responseKey: query.responseKey, digest: query.digest };
        throw await refusal(error, "query", session.domain, replyTo);
      }
    },
  };
}
