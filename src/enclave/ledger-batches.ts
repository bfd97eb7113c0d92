// The ledger's batches: which accepted commands go out next and when a batch in flight is signed
// again (nextBatches), and a batch the chain ordered applied to the state (applyBatch), every user
// signature verified again, with its receipts; the oldest receipts are dropped past MAX_RECEIPTS.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import { applyCommand } from "../app/executor.js";
import type { PersistentMap } from "../app/pmap.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { decodeBatch, encodeBatch, MAX_BATCHES_IN_FLIGHT, openBatch, sealBatch } from "../protocol/batch.js";
import { batchDigest, type ChainPosition, type LedgerDomain } from "../protocol/digests.js";
import { HEAD_WINDOW } from "../protocol/event-chain.js";
import type { PublicOutput } from "../protocol/public-outputs.js";
import type { BatchRef, Receipt } from "../protocol/receipts.js";
import { batchSeeds } from "./app-randomness.js";
import {
  type InFlight,
  LedgerAppError,
  type LedgerAppState,
  LedgerDiverged,
  nonceRefusal,
  notOrdered,
  type Queued,
  type StoredReceipt,
} from "./confidential-ledger.js";
import { receiptsLink } from "./ledger-digest.js";
import type { SignatureCheck } from "./signature-check.js";
import { type VerifiedCommand, verifySignedCommand } from "./signed-messages.js";

/**
 * How far behind the cursor a batch in flight may have been signed before it is signed again at the
 * cursor: well inside the contract's HEAD_WINDOW, so that it lands while the contract holds its point.
 */
const REBASE_AFTER = HEAD_WINDOW / 2n;

/** Receipts kept for clients to fetch (at least; older ones are dropped first). */
export const MAX_RECEIPTS = 50_000;
/** Receipts past the limit dropped at once: one pass over the kept ones per this many commands. */
const RECEIPT_EVICTION_SLACK = 5_000;

/**
 * The state whose `inFlight` lists the batches to submit now, oldest first: those in flight,
 * re-sealed for the new epoch if a handshake moved the slot before they landed (same commands and
 * order, so none is lost or doubled), and a new one from the queue if fewer than `maxInFlight` are
 * in flight. Unchanged state comes back as the same object.
 */
export function nextBatches(
  state: LedgerAppState,
  context: {
    slot: bigint;
    mlsEpoch: bigint;
    epochKey: Uint8Array;
    domain: LedgerDomain;
    /** This enclave's cursor, and its state digest there: what new batches are sealed at. */
    base: ChainPosition;
    stateDigest: Hex;
    /** Whether this enclave's history holds `base` (the point a batch in flight was signed at). */
    holds: (base: ChainPosition) => boolean;
  },
  limits: { maxCommands: number; maxInFlight: number },
): LedgerAppState {
  const at = { base: context.base, stateDigest: context.stateDigest };
  const seal = (commands: Queued[], nonce: bigint): InFlight => {
    const plaintext = encodeBatch(commands.map((c) => hexToBytes(c.encoded)));
    const ciphertext = bytesToHex(
      sealBatch({ epochKey: context.epochKey, epoch: context.mlsEpoch, domain: context.domain, plaintext }),
    );
    return {
      commands,
      slot: context.slot,
      mlsEpoch: context.mlsEpoch,
      nonce,
      ciphertext,
      count: commands.length,
      ...at,
    };
  };
  let inFlight = state.inFlight;
  let queue = state.queue;
  // The oldest batch in flight no longer carries the batch nonce the contract expects next (a
  // reorganisation dropped batches of ours before it, or another copy of it was ordered): its
  // commands and those behind it go back to the queue, ahead of the rest, and are batched anew;
  // a copy already sent fails on its nonce, and per-sender nonces keep a command from applying twice.
  if (inFlight.length > 0 && inFlight[0]!.nonce !== state.ownBatches) {
    queue = [...inFlight.flatMap((b) => b.commands).filter((q) => notOrdered(state, q)), ...queue];
    inFlight = [];
  }
  if (inFlight.some((b) => b.slot !== context.slot)) {
    inFlight = inFlight.map((b, i) => seal(b.commands, state.ownBatches + BigInt(i)));
  } else if (inFlight.some((b) => context.base.seq - b.base.seq > REBASE_AFTER || !context.holds(b.base))) {
    // Signed at a point the contract will soon no longer hold, or that this enclave's history no
    // longer holds (a rollback past a reorganisation): the same batches, signed at the cursor.
    inFlight = inFlight.map((b) => ({ ...b, ...at }));
  }
  const room = Math.min(limits.maxInFlight, MAX_BATCHES_IN_FLIGHT) - inFlight.length;
  if (room > 0 && queue.length > 0) {
    const commands = queue.slice(0, limits.maxCommands);
    queue = queue.slice(commands.length);
    inFlight = [...inFlight, seal(commands, state.ownBatches + BigInt(inFlight.length))];
  }
  return inFlight === state.inFlight && queue === state.queue ? state : { ...state, queue, inFlight };
}

/** What the enclave signs for `submitBatch` (a hash of the whole ciphertext: compute it once per batch). */
export function inFlightDigest(batch: InFlight, domain: LedgerDomain): Hex {
  return batchDigest(
    domain,
    { epoch: batch.slot, nonce: batch.nonce, ciphertext: batch.ciphertext, count: batch.count },
    batch.base,
    batch.stateDigest,
  );
}

/**
 * The signed commands of a member's batch, opened under this enclave's key of the MLS epoch: a
 * batch that does not open, or holds another count than its event says, is `LedgerDiverged`.
 */
export function batchCommands(
  event: Extract<LedgerEvent, { kind: "BatchSubmitted" }>,
  key: { epochKey: Uint8Array; mlsEpoch: bigint; domain: LedgerDomain },
): Uint8Array[] {
  let commands: Uint8Array[];
  try {
    const plaintext = openBatch({
      epochKey: key.epochKey,
      epoch: key.mlsEpoch,
      domain: key.domain,
      ciphertext: hexToBytes(event.ciphertext),
    });
    commands = decodeBatch(plaintext);
  } catch {
    throw new LedgerDiverged(
      `batch ${event.batch} of member ${event.enclave} does not open under this enclave's key of MLS epoch ${key.mlsEpoch}`,
    );
  }
  if (commands.length !== event.count)
    throw new LedgerDiverged(
      `batch ${event.batch} holds ${commands.length} commands, its event says ${event.count}`,
    );
  return commands;
}

/**
 * Applies one ordered batch: open it, re-verify each command, run the app, keep receipts. A batch of
 * an enclave that is not a member of the group is void (every member decides alike: its commands never
 * apply); a member's batch that does not open is this enclave's divergence (`LedgerDiverged`).
 */
export function applyBatch(
  state: LedgerAppState,
  event: Extract<LedgerEvent, { kind: "BatchSubmitted" }>,
  context: {
    app: App<StateValue>;
    domain: LedgerDomain;
    self: Hex;
    mlsEpoch: bigint | undefined;
    epochKey: Uint8Array | undefined;
    /** The group's members (lower-case addresses), while this enclave is one of them. */
    members: ReadonlySet<string> | undefined;
    /**
     * This enclave's signature checks: every command of the batch is verified again here (those its
     * signature workers verified ahead are found in its cache: batch-prefetch.ts).
     */
    signatures: SignatureCheck;
    /** Where the public outputs of the batch's commands go, in order (src/enclave/calls/outputs.ts). */
    outputs?: PublicOutput[];
  },
): LedgerAppState {
  const index = BigInt(event.batch);
  const first = BigInt(event.firstSequence);
  if (index !== state.batches || first !== state.sequence) {
    throw new LedgerAppError(
      `batch ${index} at sequence ${first} arrived while at batch ${state.batches}, sequence ${state.sequence}`,
    );
  }
  // What every receipt of this batch names, for the client to find the event on chain.
  const batchRef: BatchRef = {
    index,
    seq: BigInt(event.seq),
    head: event.head,
    block: BigInt(event.block),
  };
  const own = event.enclave === context.self.toLowerCase();
  let next: LedgerAppState = {
    ...state,
    batches: index + 1n,
    sequence: first + BigInt(event.count),
    ownBatches: own ? state.ownBatches + 1n : state.ownBatches,
    inFlight: own ? state.inFlight.filter((b) => b.ciphertext !== event.ciphertext) : state.inFlight,
  };
  // Outside the group this enclave cannot read a batch (its ledger is incomplete until a snapshot);
  // inside, one from an enclave that is not a member is void for every member alike. The sequence
  // numbers still advance, so their commands simply never apply.
  const { epochKey, mlsEpoch, members } = context;
  if (!epochKey || mlsEpoch === undefined || !members?.has(event.enclave))
    return { ...next, skippedBatches: next.skippedBatches + 1n };
  const commands = batchCommands(event, { epochKey, mlsEpoch, domain: context.domain });
  // What handlers see of the batch: its block time and, per command, a seed of this epoch and place.
  const timestamp = BigInt(event.timestamp);
  const seedOf = batchSeeds(epochKey, context.domain, mlsEpoch, { seq: batchRef.seq, head: event.head });
  let appState = next.appState;
  let nonces = next.nonces;
  let receipts = next.receipts;
  const ordered = new Set<Hex>();
  const linked: { command: Hex; receipt: Receipt }[] = [];
  for (const [i, encoded] of commands.entries()) {
    const sequence = first + BigInt(i);
    let command: VerifiedCommand;
    try {
      command = verifySignedCommand(context.domain, encoded, {
        app: context.app.name,
        signatures: context.signatures,
      });
    } catch {
      continue; // a forged command in a batch: no state change, and no receipt (it names no valid sender)
    }
    ordered.add(command.digest);
    const sender = command.sender as Hex;
    const expected = nonces.get(sender) ?? 0n;
    const refused = nonceRefusal(expected, command.nonce);
    let receipt: Receipt;
    if (refused) {
      receipt = { sequence, status: "failed", reason: refused.reason, batch: batchRef };
    } else {
      nonces = nonces.set(sender, expected + 1n);
      const result = applyCommand(context.app, appState, {
        sender,
        name: command.name,
        params: command.params,
        sequence,
        timestamp,
        seed: () => seedOf(sequence),
      });
      appState = result.state as StateValue;
      receipt = { ...result.receipt, batch: batchRef };
      if (result.publicOutput !== undefined) context.outputs?.push({ sequence, output: result.publicOutput });
    }
    if (!receipts.has(command.digest)) {
      receipts = receipts.set(command.digest, { receipt, responseKey: command.responseKey });
      linked.push({ command: command.digest, receipt });
    }
  }
  receipts = newestReceipts(receipts, next.sequence);
  const receiptsHead = receiptsLink(next.receiptsHead, batchRef.seq, linked);
  // Commands this enclave queued but another enclave got ordered first leave the queue (a command
  // this enclave queued verified here, so its copy in the batch did too).
  const queue = next.queue.filter((q) => !ordered.has(q.digest));
  next = { ...next, appState, nonces, receipts, receiptsHead, queue };
  return next;
}

/**
 * The receipts kept once commands up to `nextSequence` are ordered: the newest `max` of them, let
 * grow by `slack` before the oldest are dropped, so the kept ones are walked once per `slack` commands.
 */
export function newestReceipts(
  receipts: PersistentMap<Hex, StoredReceipt>,
  nextSequence: bigint,
  { max = MAX_RECEIPTS, slack = RECEIPT_EVICTION_SLACK } = {},
): PersistentMap<Hex, StoredReceipt> {
  if (receipts.size <= max + slack) return receipts;
  // Each sequence number has at most one receipt: those below this one are the oldest.
  const oldest = nextSequence - BigInt(max);
  let kept = receipts;
  for (const [digest, stored] of receipts) if (stored.receipt.sequence < oldest) kept = kept.delete(digest);
  return kept;
}
