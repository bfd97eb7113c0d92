// The enclave's confidential ledger: the app's state in chain order, per-sender nonces, the queue of
// accepted commands, the batch in flight, and receipts. Every enclave applies every batch and
// re-verifies every user signature, so one broken enclave cannot forge a user's command for others.

import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import { applyCommand, checkCommand } from "../app/executor.js";
import { PersistentMap } from "../app/pmap.js";
import { type LedgerSummary, MAX_QUEUED_COMMANDS, MAX_QUEUED_PER_SENDER } from "../boundary/calls.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { decodeBatch, encodeBatch, MAX_BATCHES_IN_FLIGHT, openBatch, sealBatch } from "../protocol/batch.js";
import { batchDigest, type ChainPosition, type LedgerDomain, ZERO_HASH } from "../protocol/digests.js";
import { HEAD_WINDOW } from "../protocol/event-chain.js";
import type { BatchRef, CommandStatus, Receipt } from "../protocol/receipts.js";
import { receiptsLink } from "./ledger-digest.js";
import type { SignatureCheck } from "./signature-check.js";
import { CommandRejected, type VerifiedCommand, verifySignedCommand } from "./signed-messages.js";

/**
 * How far behind the cursor a batch in flight may have been signed before it is signed again at the
 * cursor: well inside the contract's HEAD_WINDOW, so that it lands while the contract holds its point.
 */
const REBASE_AFTER = HEAD_WINDOW / 2n;

/** Receipts kept for clients to fetch (at least; older ones are dropped first). */
export const MAX_RECEIPTS = 50_000;
/** Receipts past the limit dropped at once: one pass over the kept ones per this many commands. */
const RECEIPT_EVICTION_SLACK = 5_000;

export type Queued = { digest: Hex; sender: Hex; nonce: bigint; encoded: Hex };
export type InFlight = {
  commands: Queued[];
  slot: bigint;
  mlsEpoch: bigint;
  nonce: bigint;
  ciphertext: Hex;
  count: number;
  /** The point this enclave sealed it at (its cursor then) and its state digest there: signed with it. */
  base: ChainPosition;
  stateDigest: Hex;
};
export type StoredReceipt = { receipt: Receipt; responseKey: Hex };

/**
 * A ledger that joined the group after batches were ordered (src/enclave/ledger-snapshot.ts): where
 * it joined — the handshake's slot, block and place in the event sequence (`seq`, `head`), and the
 * ledger's counts then, as this enclave saw them on chain — and the key of its join epoch, which
 * opens the snapshot of that position.
 */
export type LedgerSync = {
  slot: bigint;
  block: bigint;
  seq: bigint;
  head: Hex;
  sequence: bigint;
  batches: bigint;
  key: Hex;
  /** The join epoch's key of state digests: what the installed state is checked against. */
  digestKey: Hex;
};

/**
 * A snapshot this enclave produced for the joiners of `slot`, captured at point `at` (the handshake
 * that added them) where its state digest was `digest`: it signs a commitment to these only.
 */
export type ProducedSnapshot = { slot: bigint; at: ChainPosition; sequence: bigint; hash: Hex; digest: Hex };

export type LedgerAppState = {
  appState: StateValue;
  /**
   * The next nonce each sender must use (replicated: every enclave computes the same). Persistent
   * maps here and for receipts: a batch updates them in O(log n), not by copying every sender.
   */
  nonces: PersistentMap<Hex, bigint>;
  /** Commands ordered so far (the contract's commandCount). */
  sequence: bigint;
  batches: bigint;
  /** The hash chain over every applied batch's receipts (ledger-digest.ts `receiptsLink`). */
  receiptsHead: Hex;
  /** This enclave's batches ordered so far: its batch nonce on chain. */
  ownBatches: bigint;
  queue: Queued[];
  /** This enclave's sealed batches not yet ordered, oldest first; their batch nonces follow `ownBatches`. */
  inFlight: InFlight[];
  receipts: PersistentMap<Hex, StoredReceipt>;
  /**
   * Batches whose commands never apply: those of enclaves that were not members of the group (void
   * for every member alike) and, for an enclave outside the group, every batch it could not open.
   */
  skippedBatches: bigint;
  /** Set while the ledger waits for its snapshot: it applies no batch and answers nothing. */
  syncing?: LedgerSync;
  produced: ProducedSnapshot[];
};

export function initialLedgerApp(app: App<StateValue>): LedgerAppState {
  return {
    appState: app.initialState(),
    nonces: PersistentMap.empty(),
    sequence: 0n,
    batches: 0n,
    receiptsHead: ZERO_HASH,
    ownBatches: 0n,
    queue: [],
    inFlight: [],
    receipts: PersistentMap.empty(),
    skippedBatches: 0n,
    produced: [],
  };
}

export class LedgerAppError extends Error {
  override name = "LedgerAppError";
}

/**
 * This enclave's ledger is not the network's: a member's batch of this epoch does not open under this
 * enclave's key. Every member holds the same key; one that cannot open a member's batch has left the
 * network's history, and applying on (or skipping it) would fork the state silently.
 */
export class LedgerDiverged extends Error {
  override name = "LedgerDiverged";
}

/** A sender's commands waiting here (queued or in flight). */
function waitingOf(state: LedgerAppState, sender: Hex): Queued[] {
  return [...state.queue, ...state.inFlight.flatMap((b) => b.commands)].filter((q) => q.sender === sender);
}

/** The next nonce a sender may use at this enclave: applied ones plus those waiting here. */
export function nextNonce(state: LedgerAppState, sender: Hex): bigint {
  let next = state.nonces.get(sender) ?? 0n;
  for (const q of waitingOf(state, sender)) if (q.nonce >= next) next = q.nonce + 1n;
  return next;
}

/** Whether `state` has not ordered command `q`: no receipt, and its sender's nonce is not past it. */
const notOrdered = (state: LedgerAppState, q: Queued): boolean =>
  !state.receipts.has(q.digest) && q.nonce >= (state.nonces.get(q.sender) ?? 0n);

/** Accepts a verified command into the queue, after the nonce and params checks. */
/**
 * Whether this node takes no more commands now: decided before a command is opened, from the node's
 * load alone (public), so a full node spends nothing on what it would refuse.
 */
export const queueFull = (state: LedgerAppState): boolean => state.queue.length >= MAX_QUEUED_COMMANDS;

/**
 * The nonce rule, the one both admission and ordering apply: a sender's commands carry nonces 0, 1,
 * 2, … and each must be exactly the next (`expected`). A lower one is a replay; a higher one means an
 * earlier command is missing or was reordered, and waits for the client to resend.
 */
export function nonceRefusal(expected: bigint, nonce: bigint): CommandRejected | undefined {
  if (nonce < expected)
    return new CommandRejected("replayed_nonce", `nonce ${nonce} was used; next is ${expected}`);
  if (nonce > expected)
    return new CommandRejected("nonce_gap", `nonce ${nonce} is ahead; next is ${expected}`);
  return undefined;
}

/**
 * Every rule a verified command must pass to join this node's queue, then the queue with it (the
 * shape of ts-mls's `createCommit`: all checks, then the new state). Decided after opening, so each
 * refusal is sealed to the sender: a command seen already, a sender with too many waiting, a nonce
 * not its sender's next (counting those queued here), params the app does not take. The node's load
 * is judged before opening (`queueFull`).
 */
export function admit(state: LedgerAppState, app: App<StateValue>, command: VerifiedCommand): LedgerAppState {
  const sender = command.sender as Hex;
  if (commandStatus(state, command.digest))
    throw new CommandRejected("replayed_nonce", "this command was already accepted");
  if (waitingOf(state, sender).length >= MAX_QUEUED_PER_SENDER) {
    throw new CommandRejected(
      "sender_queue_full",
      `${MAX_QUEUED_PER_SENDER} of this sender's commands already wait at this node; send more once they are ordered`,
    );
  }
  const refused = nonceRefusal(nextNonce(state, sender), command.nonce);
  if (refused) throw refused;
  const check = checkCommand(app, command.name, command.params);
  if (!check.ok) throw new CommandRejected("malformed", check.reason);
  const queued: Queued = {
    digest: command.digest,
    sender: command.sender as Hex,
    nonce: command.nonce,
    encoded: bytesToHex(command.encoded),
  };
  return { ...state, queue: [...state.queue, queued] };
}

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
    /** This enclave's signature checks: every command of the batch is verified again here. */
    signatures: SignatureCheck;
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
  let commands: Uint8Array[];
  try {
    const plaintext = openBatch({
      epochKey,
      epoch: mlsEpoch,
      domain: context.domain,
      ciphertext: hexToBytes(event.ciphertext),
    });
    commands = decodeBatch(plaintext);
  } catch {
    throw new LedgerDiverged(
      `batch ${index} of member ${event.enclave} does not open under this enclave's key of MLS epoch ${mlsEpoch}`,
    );
  }
  if (commands.length !== event.count)
    throw new LedgerDiverged(
      `batch ${index} holds ${commands.length} commands, its event says ${event.count}`,
    );
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
      });
      appState = result.state as StateValue;
      receipt = { ...result.receipt, batch: batchRef };
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

/**
 * The commands a journal holds: the queue and batches in flight at its last snapshot, those
 * accepted after, and the batches in flight as last changed after it.
 */
export type JournalContents = {
  snapshot?: { queue: Queued[]; inFlight: InFlight[] };
  accepted: Queued[];
  /** The batches in flight as last journaled after the snapshot, if they changed since. */
  inFlight?: InFlight[];
  /** Commands of records from before the snapshot, oldest first (kept for a rollback). */
  earlier?: Queued[];
};

/**
 * The state after a restart: the checkpoint joined with the journal (which may be older or newer
 * than it). Every command either side holds is kept once, a command in the batch in flight is not
 * queued again, and what the checkpoint already applied is dropped; replaying the events after the
 * checkpoint then removes whatever else was ordered.
 */
export function withJournal(state: LedgerAppState, journal: JournalContents): LedgerAppState {
  let inFlight = (journal.inFlight ?? journal.snapshot?.inFlight ?? state.inFlight).filter(
    (b) => b.nonce >= state.ownBatches, // a batch the checkpoint saw ordered is no longer in flight
  );
  const seen = new Set(inFlight.flatMap((b) => b.commands.map((q) => q.digest)));
  const queue: Queued[] = [];
  // The checkpoint's batches in flight, and the journal's older records, are offered too: after a
  // reorganisation they hold commands whose batches the chain no longer has. Replaying the events
  // drops again whatever the canonical chain orders.
  const candidates = [
    ...state.inFlight.flatMap((b) => b.commands),
    ...state.queue,
    ...(journal.earlier ?? []),
    ...(journal.snapshot?.inFlight.flatMap((b) => b.commands) ?? []),
    ...(journal.snapshot?.queue ?? []),
    ...journal.accepted,
  ];
  for (const q of candidates) {
    if (seen.has(q.digest) || !notOrdered(state, q)) continue;
    seen.add(q.digest);
    queue.push(q);
  }
  // A batch in flight must not be ordered before a command of the same sender with a lower nonce
  // (it would fail there): if the queue holds one, the batches go back to the queue and are sealed
  // anew once the events are replayed (a copy of one already mined is applied when read, first).
  const firstQueued = new Map<Hex, bigint>();
  for (const q of queue)
    if ((firstQueued.get(q.sender) ?? q.nonce) >= q.nonce) firstQueued.set(q.sender, q.nonce);
  const behind = inFlight.some((b) =>
    b.commands.some((c) => (firstQueued.get(c.sender) ?? c.nonce) < c.nonce),
  );
  if (behind) {
    queue.push(...inFlight.flatMap((b) => b.commands));
    inFlight = [];
  }
  return { ...state, queue: inNonceOrder(queue), inFlight };
}

/**
 * The same commands, each sender's in nonce order in the places its commands held (the sources a
 * restore joins may interleave them otherwise), so a batch never applies a later nonce first.
 */
function inNonceOrder(queue: Queued[]): Queued[] {
  const bySender = new Map<Hex, Queued[]>();
  for (const q of queue) {
    const list = bySender.get(q.sender);
    if (list) list.push(q);
    else bySender.set(q.sender, [q]);
  }
  for (const list of bySender.values())
    list.sort((x, y) => (x.nonce < y.nonce ? -1 : x.nonce > y.nonce ? 1 : 0));
  const taken = new Map<Hex, number>();
  return queue.map((q) => {
    const i = taken.get(q.sender) ?? 0;
    taken.set(q.sender, i + 1);
    return bySender.get(q.sender)![i]!;
  });
}

/**
 * The ids of commands accepted here (queued or in flight) that `after` no longer waits for: they
 * were ordered. The host learns only what it already knew (ids it was given), and when to ask again.
 */
export function settledHere(before: LedgerAppState, after: LedgerAppState): Hex[] {
  const waiting = new Set(
    [...after.queue, ...after.inFlight.flatMap((b) => b.commands)].map((q) => q.digest),
  );
  return [...before.queue, ...before.inFlight.flatMap((b) => b.commands)]
    .map((q) => q.digest)
    .filter((id) => !waiting.has(id));
}

/** Where a command stands in this ledger, and its receipt once ordered. */
export type CommandState = { status: CommandStatus; stored?: StoredReceipt };

export function commandStatus(state: LedgerAppState, digest: Hex): CommandState | undefined {
  const stored = state.receipts.get(digest);
  if (stored) return { status: "ordered", stored };
  if (state.inFlight.some((b) => b.commands.some((c) => c.digest === digest))) return { status: "submitted" };
  if (state.queue.some((c) => c.digest === digest)) return { status: "queued" };
  return undefined;
}

// ----- sealing

export function ledgerSummary(s: LedgerAppState): LedgerSummary {
  const sync = s.syncing;
  return {
    sequence: s.sequence.toString(),
    batches: s.batches.toString(),
    queued: s.queue.length,
    inFlight: s.inFlight.reduce((n, b) => n + b.count, 0),
    batchesInFlight: s.inFlight.length,
    skippedBatches: s.skippedBatches.toString(),
    syncing: sync && {
      slot: sync.slot.toString(),
      block: sync.block.toString(),
      at: sync.seq.toString(),
      sequence: sync.sequence.toString(),
    },
    // No state digest here: a hash of a small confidential state can be brute-forced.
  };
}
