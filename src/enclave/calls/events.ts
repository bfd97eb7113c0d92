// Applying the contract's events, in chain order: registry and handshakes move the group, batches
// move the confidential ledger. The host may resend, drop or reorder what it feeds; events at or
// before the cursor are skipped, and a gap in the handshake or batch chain is refused with nothing
// changed.
import type { ApplyResult, CommandStatusAnswer } from "../../boundary/calls.js";
import { isAfter } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { epochOf } from "../../group/mls.js";
import { applyBatch, LedgerAppError, ledgerSummary, settledHere } from "../confidential-ledger.js";
import { admissionOf, type CallHandlers, type EnclaveContext, sessionToChange } from "../context.js";
import { applyGroupEvent, GroupFollowError, groupSummary } from "../group-member.js";
import { fullSealDue, sealState } from "./checkpoint.js";
import { statusAnswer } from "./commands.js";

export function eventCalls(context: EnclaveContext): Pick<CallHandlers, "applyEvents"> {
  return {
    applyEvents: async ({ events }): Promise<ApplyResult> => {
      const session = sessionToChange(context, "applyEvents");
      const admission = admissionOf(context);
      let group = session.group;
      let ledger = session.ledger;
      let cursor = session.cursor;
      let applied = 0;
      for (const event of events) {
        if (!isAfter(event, cursor)) continue;
        try {
          if (event.kind === "BatchSubmitted") {
            ledger = applyBatch(ledger, event, {
              app: context.app,
              domain: session.domain,
              self: session.identity.address,
              mlsEpoch: group.group ? epochOf(group.group) : undefined,
              epochKey: group.epochKey,
            });
          } else {
            group = await applyGroupEvent(group, event, session.identity.address, session.domain, admission);
          }
        } catch (error) {
          if (error instanceof GroupFollowError || error instanceof LedgerAppError)
            throw new EnclaveCallError("out_of_order", error.message);
          throw error;
        }
        cursor = { block: event.block, logIndex: event.logIndex };
        applied++;
      }
      // The previous epoch's key goes: no batch of an epoch can be ordered after the handshake that ends it.
      if (session.group.epochKey && session.group.epochKey !== group.epochKey) session.group.epochKey.fill(0);
      const groupChanged = group !== session.group;
      // Answered at once for the host's waiting requests: the settled commands' receipts, sealed.
      const settled = await Promise.all(
        settledHere(session.ledger, ledger).map(
          async (id): Promise<CommandStatusAnswer | { id: typeof id; status: "unknown" }> =>
            (await statusAnswer(ledger, session.domain, id)) ?? { id, status: "unknown" },
        ),
      );
      session.group = group;
      session.ledger = ledger;
      session.cursor = cursor;
      return {
        applied,
        cursor,
        group: groupSummary(group, session.identity.address),
        ledger: ledgerSummary(ledger),
        settled,
        sealedState: fullSealDue(context, groupChanged) ? await sealState(context, session) : undefined,
      };
    },
  };
}
