// A host that connected to this enclave again: served in a VM (`anonify enclave serve`), the enclave
// outlives a dropped connection and keeps its state and group membership, but the answers in flight at
// the drop were lost, and with them, maybe, checkpoint pieces and journal records the host never
// kept (the next checkpoint would name a piece the host lacks; the next record would follow one it
// lacks). `resumeSession` makes what the host keeps whole again: every piece sealed anew and sent,
// and a journal snapshot, from which a restore reads (records before it are not needed).
//
// Against the host: it learns nothing a first checkpoint does not show (each piece's size); calling
// this at will only costs the enclave a full seal. It changes state (a journal record), so a sealed
// state cannot be restored over it afterwards (restore_closed), as after any other change.
import { emptyPieceCache } from "../checkpoint-pieces.js";
import { type CallHandlers, type EnclaveContext, groupView, sessionToChange } from "../context.js";
import { journal, sealState } from "./checkpoint.js";

export function resumeCalls(context: EnclaveContext): Pick<CallHandlers, "resumeSession"> {
  return {
    resumeSession: async () => {
      const session = sessionToChange(context, "resumeSession");
      // The host may lack any piece sent since the last restore: none is taken as held.
      context.pieces = emptyPieceCache();
      const sealedState = await sealState(context, session);
      const { queue, inFlight } = session.ledger;
      const entry = await journal(context, session, { kind: "snapshot", queue, inFlight });
      return { ...groupView(session, context.appId), sealedState, journal: entry };
    },
  };
}
