// What a run did to the ledger, read back from every node once the stream stopped: the nodes must
// answer one applied sequence and one set of balances, and those balances must be what the applied
// commands imply. Each sender sends only amount-1 transfers to a recipient of its own, so:
//   - the transfers the ledger applied for a sender = its next nonce (one per applied command);
//   - what the ledger moved for it = its recipient's balance = its funds minus its own balance;
//   - doubled = moved beyond the commands applied, plus acknowledged commands whose receipts share
//     a sequence (one command in two places);
//   - lost = acknowledged (202) commands without an applied receipt.
import { nodeStatus } from "../../test/operators/operator-net.js";
import { waitForSameSequence } from "../../test/support/group.js";
import type { FaultNet } from "./net.js";
import type { ReceiptSummary } from "./receipts.js";
import type { TransferStream } from "./stream.js";

/** Lost commands and disagreements named in the results (the rest are only counted). */
const NAMED = 5;

export type Accounting = {
  sent: number;
  acknowledged: number;
  /** Transfers the ledger applied (the senders' nonces), acknowledged or not. */
  applied: number;
  appliedAcknowledged: number;
  lost: number;
  doubled: number;
  /** Commands ordered that applied nothing (a copy refused for its nonce), from the sequence. */
  orderedNotApplied: number;
  finalSequence: string;
  nodesAgree: boolean;
  /** Why not, or what else did not add up. */
  problems: string[];
  /** Failed sends by reason (not acknowledged: their outcome was unknown to the sender). */
  sendFailures: Record<string, number>;
  /**
   * Sends a node answered with `internal` (a 500): a fault the node should have named (a chain outage
   * is a 503 `chain_unavailable`), so a failure of the run, like a lost command.
   */
  internalErrors: number;
};

type SenderView = { nonce: bigint; balance: bigint; received: bigint };

/** Waits for the nodes to agree on a sequence and reads every sender's accounts at every node. */
export async function account(
  net: FaultNet,
  stream: TransferStream,
  receipts: ReceiptSummary,
  { funds, setupSequence }: { funds: bigint; setupSequence: bigint },
): Promise<Accounting> {
  const problems: string[] = [];
  await waitForSameSequence(net.running()).catch((e: Error) => problems.push(e.message));
  const statuses = await Promise.all(net.nodes.map((n) => nodeStatus(n.url)));
  const finalSequence = BigInt(statuses[0]!.appliedSequence);
  let nodesAgree = statuses.every(
    (s) => s.appliedSequence === statuses[0]!.appliedSequence && s.batches === statuses[0]!.batches,
  );
  if (!nodesAgree)
    problems.push(`sequences/batches: ${statuses.map((s) => `${s.appliedSequence}/${s.batches}`).join(" ")}`);

  const views: SenderView[][] = await Promise.all(
    stream.senders.map((s) =>
      Promise.all(
        net.nodes.map(async (_, i) => {
          const [own, theirs] = [await net.client(s.account, i), await net.client(s.recipient, i)];
          return {
            nonce: await own.nextNonce(),
            balance: (await own.query("balanceOf", {})) as bigint,
            received: (await theirs.query("balanceOf", {})) as bigint,
          };
        }),
      ),
    ),
  );
  let applied = 0n;
  let doubled = 0n;
  for (const [s, perNode] of views.entries()) {
    const first = perNode[0]!;
    const same = perNode.every(
      (v) => v.nonce === first.nonce && v.balance === first.balance && v.received === first.received,
    );
    if (!same) {
      nodesAgree = false;
      if (problems.length < NAMED) problems.push(`sender ${s}: ${JSON.stringify(perNode, bigintJson)}`);
    }
    if (first.balance + first.received !== funds)
      problems.push(`sender ${s}: balance ${first.balance} + received ${first.received} ≠ funds ${funds}`);
    applied += first.nonce;
    if (first.received > first.nonce) doubled += first.received - first.nonce;
  }

  doubled += BigInt(receipts.applied - receipts.appliedSequences);
  const lost = receipts.notApplied;
  if (receipts.checked !== stream.acknowledged)
    problems.push(`${receipts.checked} receipts asked for, of ${stream.acknowledged} acknowledged`);
  for (const o of lost.slice(0, NAMED))
    problems.push(
      `lost ${o.command.id}: ${o.receipt ? `${o.receipt.status} ${o.receipt.reason ?? ""}` : o.error}`,
    );
  return {
    sent: stream.attempts,
    acknowledged: stream.acknowledged,
    applied: Number(applied),
    appliedAcknowledged: receipts.applied,
    lost: lost.length,
    doubled: Number(doubled),
    orderedNotApplied: Number(finalSequence - setupSequence - applied),
    finalSequence: finalSequence.toString(),
    nodesAgree,
    problems,
    sendFailures: Object.fromEntries(stream.failures),
    internalErrors: [...stream.failures].reduce(
      (n, [what, count]) => n + (/\binternal\b/i.test(what) ? count : 0),
      0,
    ),
  };
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
