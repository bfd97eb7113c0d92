// Applying the contract's events in the order of its one sequence: registry and handshakes move the
// group, batches move the confidential ledger. The host may resend, drop, reorder or change what it
// feeds: each event must take the position right after the last one applied, and its head, recomputed
// here over what was fed (src/protocol/event-chain.ts), must be the one it names; anything else is
// refused with nothing of the call applied. Every other enclave's signed output is checked against
// this enclave's own history and state digests (claims.ts), and a member's batch must open: where one
// is not, this enclave's history or state is not the network's, and it stops there for good
// (`diverged`), whatever its host sends next. After each event it notes the head and, while it holds
// a complete ledger as a member, its state digest there (history.ts, ledger-digest.ts).
// A handshake that adds members makes every complete member capture a state snapshot for them; one
// that adds this enclave after batches were ordered makes it sync: it stops before the next batch
// until a snapshot is installed (src/enclave/ledger-snapshot.ts).
import { type Hex, keccak256 } from "viem";
import type {
  ApplyResult,
  CommandStatusAnswer,
  Divergence,
  OutputsRecord,
  SnapshotOffer,
} from "../../boundary/call-results.js";
import { cursorOf, type EventCursor, type LedgerEvent } from "../../boundary/chain-events.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { epochOf, membersOf } from "../../group/mls.js";
import type { LedgerDomain } from "../../protocol/digests.js";
import { GENESIS_POSITION, positionAfter } from "../../protocol/event-chain.js";
import type { PublicOutput } from "../../protocol/public-outputs.js";
import { applyingMembers, retirementIn, sameStateShape, successorBatch } from "../app-upgrade.js";
import { type BatchKey, checkRunAhead } from "../batch-prefetch.js";
import { divergenceIn } from "../claims.js";
import { LedgerAppError, type LedgerAppState, LedgerDiverged, settledHere } from "../confidential-ledger.js";
import {
  admissionAt,
  type CallHandlers,
  type EnclaveContext,
  groupView,
  refuseIfDiverged,
  sessionToChange,
} from "../context.js";
import { digestKeyOf } from "../group-keys.js";
import { applyGroupEvent, GroupFollowError, type GroupMemberState, ownCommitFor } from "../group-member.js";
import { isGroupMember } from "../group-seal.js";
import { type History, withPoint } from "../history.js";
import { applyBatch } from "../ledger-batches.js";
import { ledgerRoot, stateDigestAt } from "../ledger-digest.js";
import { captureSnapshot, snapshotKey, startSync, withProduced } from "../ledger-snapshot.js";
import { countBatch, enclaveAddressOf } from "../registry.js";
import { failWaiting } from "../retired-commands.js";
import { fullSealDue, sealState } from "./checkpoint.js";
import { statusAnswer } from "./commands.js";
import { noteOutputs } from "./outputs.js";

/** Snapshot bytes kept in memory for the host to read (`snapshotChunk`): the newest few. */
const KEPT_SNAPSHOT_BYTES = 2;

const addressesOf = (group: NonNullable<GroupMemberState["group"]>) =>
  new Set(membersOf(group).map((m) => enclaveAddressOf(m.identity)));

/** A snapshot captured for joiners, before its state digest (computed once the handshake is applied). */
type Captured = Omit<SnapshotOffer, "stateDigest">;

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
): Promise<{ ledger: LedgerAppState; captured?: Captured }> {
  const group = after.group;
  // Genesis and joins before any batch need no snapshot: the initial state is known.
  if (!group || group === before.group || ledger.batches === 0n) return { ledger };
  if (ledger.superseded) return { ledger }; // the members of the app upgraded to capture it
  const slot = BigInt(event.epoch);
  const at = { slot, seq: BigInt(event.seq), head: event.head };
  if (!before.group) {
    const key = await snapshotKey(group, domain, slot);
    const digestKey = await digestKeyOf(group, domain);
    const next = startSync(ledger, { ...at, block: BigInt(event.block), key, digestKey });
    key.fill(0);
    digestKey.fill(0);
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
    ledger,
    captured: {
      slot: slot.toString(),
      at: event.seq,
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
 * This enclave's state digest at the position it just applied: while it is a member with a complete
 * ledger (a non-member, or a joiner waiting for its snapshot, holds no state to digest).
 */
function digestHere(
  group: GroupMemberState,
  ledger: LedgerAppState,
  event: LedgerEvent,
  app: Hex,
): Hex | undefined {
  if (!group.group || !group.digestKey || ledger.syncing) return undefined;
  const at = { seq: BigInt(event.seq), head: event.head };
  return stateDigestAt(group.digestKey, at, ledgerRoot(ledger, app));
}

/** The key this member's batches of the current MLS epoch open under; none outside the group. */
const batchKey = (group: GroupMemberState, domain: LedgerDomain): BatchKey | undefined =>
  group.group && group.epochKey
    ? { epochKey: group.epochKey, mlsEpoch: epochOf(group.group), domain }
    : undefined;

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
  if (positionAfter(at, event, BigInt(event.timestamp)).head !== event.head)
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
      refuseIfDiverged(session);
      let group = session.group;
      let ledger = session.ledger;
      let cursor = session.cursor;
      let history: History = session.history;
      let diverged: Divergence | undefined;
      let applied = 0;
      let blocked = false;
      const snapshots: SnapshotOffer[] = [];
      const outputRecords: OutputsRecord[] = [];
      // Batches' signatures checked ahead on the signature workers, by event index (batch-prefetch.ts).
      let ahead = { ahead: new Map<number, Promise<void>>(), until: 0 };
      for (const [at, event] of events.entries()) {
        checkPlace(event, cursor);
        // A syncing ledger applies no batch until its snapshot is installed; the host sends the rest again.
        if (event.kind === "BatchSubmitted" && ledger.syncing) {
          blocked = true;
          break;
        }
        const members = group;
        // Across an upgrade the two sides' digests name two app states: neither is the other's fork.
        diverged = divergenceIn(
          event,
          history,
          group.registry,
          session.domain,
          (enclave) =>
            isGroupMember(members, enclave) && sameStateShape(members.registry, context.appId, enclave),
        );
        if (diverged) break;
        let captured: Captured | undefined;
        try {
          if (event.kind === "BatchSubmitted") {
            if (group.group && BigInt(event.epoch) !== group.slot)
              throw new LedgerDiverged(
                `batch ${event.batch} is for slot ${event.epoch}, this enclave is at ${group.slot}`,
              );
            if (at >= ahead.until)
              ahead = checkRunAhead(events, at, batchKey(group, session.domain), context);
            await ahead.ahead.get(at);
            const addresses = group.group ? addressesOf(group.group) : undefined;
            const before = ledger;
            const outputs: PublicOutput[] = [];
            ledger = applyBatch(ledger, event, {
              app: context.app,
              domain: session.domain,
              self: session.identity.address,
              mlsEpoch: group.group ? epochOf(group.group) : undefined,
              epochKey: group.epochKey,
              // After an upgrade: none at an enclave of the app upgraded from, and no enclave of it elsewhere.
              members: applyingMembers(group.registry, context.appId, addresses),
              signatures: context.signatures,
              outputs,
            });
            const record = await noteOutputs(session, event, { before, after: ledger }, outputs);
            if (record) outputRecords.push(record);
            if (
              retirementIn(group.registry, context.appId) &&
              successorBatch(group.registry, event.enclave, addresses?.has(event.enclave) ?? false)
            )
              ledger = { ...ledger, superseded: true };
            group = { ...group, registry: countBatch(group.registry, event.enclave) };
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
              captured = step.captured;
            }
            // Retired here: what waits to be ordered never will be (a batch of it would be void), so
            // none of it is offered again, each gets its failed receipt (`upgraded`), and the node's
            // queue is empty for its operator to leave (retired-commands.ts).
            const retired = retirementIn(group.registry, context.appId);
            if (retired && !retirementIn(before.registry, context.appId))
              ledger = failWaiting(ledger, retired);
          }
        } catch (error) {
          if (error instanceof LedgerDiverged) {
            diverged = { seq: event.seq, kind: event.kind, reason: error.message };
            break;
          }
          if (error instanceof GroupFollowError || error instanceof LedgerAppError)
            throw new EnclaveCallError("out_of_order", error.message);
          throw error;
        }
        const digest = digestHere(group, ledger, event, context.appState);
        history = withPoint(history, BigInt(event.seq), {
          head: event.head,
          ...(digest ? { digest } : {}),
        });
        if (captured && digest) {
          snapshots.push({ ...captured, stateDigest: digest });
          ledger = withProduced(ledger, {
            slot: BigInt(captured.slot),
            at: { seq: BigInt(event.seq), head: event.head },
            sequence: BigInt(captured.sequence),
            hash: captured.hash,
            digest,
          });
        }
        cursor = cursorOf(event);
        applied++;
      }
      // The previous epoch's keys go: no batch of an epoch can be ordered after the handshake that ends it.
      if (session.group.epochKey && session.group.epochKey !== group.epochKey) session.group.epochKey.fill(0);
      if (session.group.digestKey && session.group.digestKey !== group.digestKey)
        session.group.digestKey.fill(0);
      const groupChanged = secretsChanged(session.group, group) || diverged !== undefined;
      // Answered at once for the host's waiting requests: the settled commands' receipts, sealed.
      const settled = await Promise.all(
        settledHere(session.ledger, ledger).map(
          async (id): Promise<CommandStatusAnswer | { id: typeof id; status: "unknown" }> =>
            (await statusAnswer(ledger, history, session.domain, id)) ?? { id, status: "unknown" },
        ),
      );
      Object.assign(session, { group, ledger, cursor, history, diverged });
      return {
        ...groupView(session, context.appId),
        applied,
        blocked,
        snapshots,
        ...(outputRecords.length > 0 ? { outputs: outputRecords } : {}),
        settled,
        sealedState: fullSealDue(context, groupChanged) ? await sealState(context, session) : undefined,
      };
    },
  };
}
