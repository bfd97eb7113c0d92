// The enclave's confidential ledger: the app's state in chain order, per-sender nonces, the queue of
// accepted commands, the batch in flight, and receipts. Every enclave applies every batch and
// re-verifies every user signature, so one broken enclave cannot forge a user's command for others.
// Its batches are applied in ledger-batches.ts, its journal restored in ledger-journal.ts.

import { bytesToHex, type Hex } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import { checkCommand } from "../app/executor.js";
import { PersistentMap } from "../app/pmap.js";
import type { LedgerSummary } from "../boundary/call-results.js";
import { MAX_QUEUED_COMMANDS, MAX_QUEUED_PER_SENDER } from "../boundary/calls.js";
import { type ChainPosition, ZERO_HASH } from "../protocol/digests.js";
import type { CommandStatus, Receipt } from "../protocol/receipts.js";
import { CommandRejected, type VerifiedCommand } from "./signed-messages.js";

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
  /**
   * Set in an enclave whose app was upgraded away from (app-upgrade.ts) once a member of the app
   * upgraded to had a batch ordered: its state is no longer the network's, so it captures none for joiners.
   */
  superseded?: boolean;
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
export const notOrdered = (state: LedgerAppState, q: Queued): boolean =>
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
 * refusal is sealed to the sender: a second copy of a command, a sender with too many waiting, a nonce
 * not its sender's next (counting those queued here), params the app does not take. The node's load
 * is judged before opening (`queueFull`).
 */
export function admit(state: LedgerAppState, app: App<StateValue>, command: VerifiedCommand): LedgerAppState {
  const sender = command.sender as Hex;
  // A resend of a command taken before is answered before admission (calls/commands.ts); here it
  // would be a second copy, refused like any command whose nonce is used.
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
