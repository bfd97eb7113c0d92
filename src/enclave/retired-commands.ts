// What a retired enclave (app-upgrade.ts) owes the senders of the commands it accepted but never got
// ordered before the upgrade position: those still queued, and those in batches in flight (a batch of
// it ordered after the position is void everywhere). None of them will ever apply, so each gets a
// definitive failed receipt, reason `upgraded: …` naming the position and the app to send it to, kept
// beside the ordered ones and served by `commandStatus` like them. Without it the sender would wait
// for a receipt forever. Sending the command again to a node of the new app is safe: the void command
// never counted, so the sender's nonce is still free there, and a second copy could apply only once.
//
// The receipt has no batch and the sequence of a refusal (2^64−1): it was never ordered. The client
// reads it as a refusal by code (`upgraded`), as it reads one at submission.
import { type Hex, hexToBytes } from "viem";
import { refusalReason } from "../protocol/receipts.js";
import { decodeSignedCommand } from "../protocol/wire.js";
import type { Retirement } from "./app-upgrade.js";
import type { LedgerAppState } from "./confidential-ledger.js";
import { REFUSED_SEQUENCE } from "./replies.js";

/** The code a client reads in the reason of such a receipt. */
const UPGRADED_CODE = "upgraded";

/** What the sender of a command dropped at retirement `at` is told, by name. */
const droppedDetail = (at: Retirement): string =>
  `not applied: the network upgraded at event ${at.seq} before this command was ordered; ` +
  `send it again (same nonce) to a node of app ${at.to}`;

/**
 * The ledger of an enclave retired at `at`: nothing waits to be ordered any more, and every command
 * that waited has its failed receipt (`upgraded`).
 */
export function failWaiting(ledger: LedgerAppState, at: Retirement): LedgerAppState {
  const reason = refusalReason(UPGRADED_CODE, droppedDetail(at));
  let receipts = ledger.receipts;
  for (const q of [...ledger.inFlight.flatMap((b) => b.commands), ...ledger.queue]) {
    if (receipts.has(q.digest)) continue;
    // Verified at admission (or when its journal record was restored): only its reply key is read.
    const { responseKey } = decodeSignedCommand(hexToBytes(q.encoded));
    receipts = receipts.set(q.digest, {
      receipt: { sequence: REFUSED_SEQUENCE, status: "failed", reason },
      responseKey: responseKey as Hex,
    });
  }
  return { ...ledger, queue: [], inFlight: [], receipts };
}
