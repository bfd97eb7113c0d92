// Applying the contract's events in the order of its one sequence: registry and handshakes move the
// group, batches move the confidential ledger. The host may resend, drop, reorder or change what it
// feeds: each event must take the position right after the last one applied, and its head, recomputed
// here over what was fed (src/protocol/event-chain.ts), must be the one it names; anything else is
// refused with nothing of the call applied. A handshake that adds members makes every complete member capture a state snapshot for
// them; one that adds this enclave after batches were ordered makes it sync: it stops before the next
// batch until a snapshot is installed (src/enclave/ledger-snapshot.ts).
import { type Hex, keccak256 } from "viem";
import type { ApplyResult, CommandStatusAnswer, SnapshotOffer } from "../../boundary/calls.js";
import { cursorOf, type EventCursor, type LedgerEvent } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { epochOf, membersOf } from "../../group/mls.js";
import type { LedgerDomain } from "../../protocol/digests.js";
import { GENESIS_POSITION, positionAfter } from "../../protocol/event-chain.js";
import {
  applyBatch,
  LedgerAppError,
  type LedgerAppState,
  ledgerSummary,
  settledHere,
} from "../confidential-ledger.js";
import { admissionAt, type CallHandlers, type EnclaveContext, sessionToChange } from "../context.js";
import {
  applyGroupEvent,
  GroupFollowError,
  type GroupMemberState,
  groupSummary,
  ownCommitFor,
} from "../group-member.js";
import { captureSnapshot, snapshotKey, startSync, withProduced } from "../ledger-snapshot.js";
import { enclaveAddressOf } from "../registry.js";
import { fullSealDue, sealState } from "./checkpoint.js";
import { statusAnswer } from "./commands.js";

/** Snapshot bytes kept in memory for the host to read (`snapshotChunk`): the newest few. */
const KEPT_SNAPSHOT_BYTES = 2;

const addressesOf = (group: NonNullable<GroupMemberState["group"]>) =>
  new Set(membersOf(group).map((m) => enclaveAddressOf(m.identity)));

/**
 * The ledger after a handshake moved the group from `before` to `after`: syncing if it added this
 * enclave after batches were ordered; with a snapshot for the joiners if it added others and this
 * ledger is complete.
 */
async function afterHandshake(
  context: EnclaveContext,
  event: Extract<LedgerEvent, { kind: "HandshakeCommitted" }>,
  before: GroupMemberState,
  after: GroupMemberState,
  ledger: LedgerAppState,
  domain: LedgerDomain,
): Promise<{ ledger: LedgerAppState; offer?: SnapshotOffer }> {
  const group = after.group;
  // Genesis and joins before any batch need no snapshot: the initial state is known.
  if (!group || group === before.group || ledger.batches === 0n) return { ledger };
  const slot = BigInt(event.epoch);
  const at = { slot, seq: BigInt(event.seq), head: event.head.toLowerCase() as Hex };
  if (!before.group) {
    const key = await snapshotKey(group, domain, slot);
    const next = startSync(ledger, { ...at, block: BigInt(event.block), key });
    key.fill(0);
    return { ledger: next };
  }
  if (ledger.syncing) return { ledger }; // incomplete: the complete members produce it
  const had = addressesOf(before.group);
  if (![...addressesOf(group)].some((address) => !had.has(address))) return { ledger };
  const key = await snapshotKey(group, domain, slot);
  const { bytes, hash } = captureSnapshot(ledger, domain, at, key);
  key.fill(0);
  context.snapshotBytes.set(hash, bytes);
  for (const old of [...context.snapshotBytes.keys()].slice(0, -KEPT_SNAPSHOT_BYTES))
    context.snapshotBytes.delete(old);
  return {
    ledger: withProduced(ledger, { slot, sequence: ledger.sequence, hash }),
    offer: {
      slot: slot.toString(),
      sequence: ledger.sequence.toString(),
      block: event.block,
      hash,
      size: bytes.length,
      // The committer of this handshake commits the hash; the others hold the same bytes to serve.
      commit: ownCommitFor(before, slot, keccak256(event.handshake)) !== undefined,
    },
  };
}

/**
 * Checks that `event` is the one right after `cursor` in the contract's sequence, over exactly the
 * fields fed: its position follows, its time does not go back, and its head is the chain's over them.
 */
function checkPlace(event: LedgerEvent, cursor: EventCursor | undefined): void {
  const at = cursor ? { seq: BigInt(cursor.seq), head: cursor.head } : GENESIS_POSITION;
  const seq = BigInt(event.seq);
  if (seq !== at.seq + 1n)
    throw new EnclaveCallError(
      "out_of_order",
      seq <= at.seq
        ? `event ${seq} (${event.kind}) was applied already: this enclave is at ${at.seq}`
        : `event ${seq} (${event.kind}) arrived while this enclave is at ${at.seq}: the ones between are missing`,
    );
  if (cursor && BigInt(event.timestamp) < BigInt(cursor.timestamp))
    throw new EnclaveCallError("event_mismatch", `event ${seq} is timed before the event it follows`);
  if (positionAfter(at, event, BigInt(event.timestamp)).head !== event.head.toLowerCase())
    throw new EnclaveCallError(
      "event_mismatch",
      `event ${seq} (${event.kind}) does not extend the chain's event hash chain as it was fed`,
    );
}

/**
 * Whether the group moved in a way the chain cannot give back: its MLS state or this enclave's own
 * keys and commits (sealed at once). The registry view is not among them: replaying the events after
 * the last checkpoint rebuilds it, and an event anyone can publish must not cost every member a seal.
 */
const secretsChanged = (before: GroupMemberState, after: GroupMemberState): boolean =>
  before.group !== after.group ||
  before.memberKeys !== after.memberKeys ||
  before.keyPackage !== after.keyPackage ||
  before.ownCommits !== after.ownCommits ||
  before.removed !== after.removed;

export function eventCalls(context: EnclaveContext): Pick<CallHandlers, "applyEvents"> {
  return {
    applyEvents: async ({ events }): Promise<ApplyResult> => {
      const session = sessionToChange(context, "applyEvents");
      let group = session.group;
      let ledger = session.ledger;
      let cursor = session.cursor;
      let applied = 0;
      let blocked = false;
      const snapshots: SnapshotOffer[] = [];
      for (const event of events) {
        checkPlace(event, cursor);
        // A syncing ledger applies no batch until its snapshot is installed; the host sends the rest again.
        if (event.kind === "BatchSubmitted" && ledger.syncing) {
          blocked = true;
          break;
        }
        try {
          if (event.kind === "BatchSubmitted") {
            ledger = applyBatch(ledger, event, {
              app: context.app,
              domain: session.domain,
              self: session.identity.address,
              mlsEpoch: group.group ? epochOf(group.group) : undefined,
              epochKey: group.epochKey,
            });
          } else if (event.kind !== "SnapshotCommitted") {
            const before = group;
            group = await applyGroupEvent(
              group,
              event,
              session.identity.address,
              session.domain,
              admissionAt(context, event.timestamp),
            );
            if (event.kind === "HandshakeCommitted") {
              const step = await afterHandshake(context, event, before, group, ledger, session.domain);
              ledger = step.ledger;
              if (step.offer) snapshots.push(step.offer);
            }
          }
        } catch (error) {
          if (error instanceof GroupFollowError || error instanceof LedgerAppError)
            throw new EnclaveCallError("out_of_order", error.message);
          throw error;
        }
        cursor = cursorOf(event);
        applied++;
      }
      // The previous epoch's key goes: no batch of an epoch can be ordered after the handshake that ends it.
      if (session.group.epochKey && session.group.epochKey !== group.epochKey) session.group.epochKey.fill(0);
      const groupChanged = secretsChanged(session.group, group);
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
        blocked,
        snapshots,
        cursor,
        group: groupSummary(group, session.identity.address),
        ledger: ledgerSummary(ledger),
        settled,
        sealedState: fullSealDue(context, groupChanged) ? await sealState(context, session) : undefined,
      };
    },
  };
}
