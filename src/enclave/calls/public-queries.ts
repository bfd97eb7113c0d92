// Public queries: those the app declares `public` (src/app/app.ts), asked by anyone without a
// signature, answered in clear and signed by this enclave with the point the answer reflects
// (src/protocol/public-answer.ts). The app's rule runs as for any query, with the zero address as its
// sender: it answers every reader alike, and a rule that reads `sender` sees no one's.
import { bytesToHex, zeroAddress } from "viem";
import { CanonicalError, parseCanonicalJson } from "../../app/canonical.js";
import { runQuery } from "../../app/executor.js";
import { pointOf } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { encodeOutcome, publicAnswerDigest } from "../../protocol/public-answer.js";
import { type CallHandlers, type EnclaveContext, refuseIfRetired, requireSession } from "../context.js";
import { digestAtCursor } from "../history.js";
import { signDigest } from "../identity.js";
import { refuseWhileIncomplete } from "./commands.js";

/** Params as a public query takes them: the canonical JSON of an object, as a signed query's. */
function paramsOf(text: string): Readonly<Record<string, unknown>> {
  let value: unknown;
  try {
    value = parseCanonicalJson(text);
  } catch (error) {
    if (error instanceof CanonicalError)
      throw new EnclaveCallError("invalid_argument", `params: ${error.message}`);
    throw error;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new EnclaveCallError("invalid_argument", "params must be a JSON object");
  return value as Readonly<Record<string, unknown>>;
}

export function publicQueryCalls(context: EnclaveContext): Pick<CallHandlers, "publicQuery"> {
  return {
    publicQuery: async ({ name, params }) => {
      const session = requireSession(context);
      refuseWhileIncomplete(session);
      refuseIfRetired(session, context.appId);
      const handler = Object.hasOwn(context.app.queries, name) ? context.app.queries[name] : undefined;
      if (!handler?.public)
        throw new EnclaveCallError(
          "not_public",
          `app ${context.app.name} declares no public query ${JSON.stringify(name)}`,
        );
      const outcome = runQuery(context.app, session.ledger.appState, {
        sender: zeroAddress,
        name,
        params: paramsOf(params),
        timestamp: BigInt(session.cursor?.timestamp ?? 0),
      });
      const digest = digestAtCursor(session, context.appState);
      const at = { ...pointOf(session.cursor), ...(digest ? { digest } : {}) };
      const signature = await signDigest(
        session.keys,
        publicAnswerDigest(session.domain, context.appId, { name, params, outcome, at }),
      );
      return {
        outcome: bytesToHex(encodeOutcome(outcome)),
        at: {
          seq: at.seq.toString(),
          head: at.head,
          block: at.block.toString(),
          ...(digest ? { digest } : {}),
        },
        signature,
      };
    },
  };
}
