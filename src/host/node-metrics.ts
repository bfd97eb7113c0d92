// What the node counts of commands and batches as they happen, for `/metrics` (prom-client): commands
// accepted, refused by the code that crossed the host in clear, ordered, and the seconds from accept to
// ordered and to final; batches sent and those that failed, by why. Only what the host sees anyway: a
// command's id keys its accept time here and is never a label; a receipt (applied or failed) stays
// sealed, so "ordered" is all this knows of an outcome.
import { Counter, Histogram, Registry } from "prom-client";
import type { Hex } from "viem";
import { EnclaveCallError } from "../boundary/frames.js";

/** From accept to ordered or final: a block or two on a fast chain, minutes behind a deep finality depth. */
const COMMAND_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
/**
 * Accepted commands whose order or finality is still awaited, at most: beyond it the oldest are
 * forgotten (not counted in the histograms), so a node whose batches never land holds bounded memory.
 */
const MAX_TRACKED_COMMANDS = 100_000;
const MS_PER_SECOND = 1000;

/** Why a batch sent did not land: its transaction reverted, or its receipt could not be read. */
export type BatchFailure = "reverted" | "receipt_unread";

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly accepted = new Counter({
    name: "anonify_commands_accepted_total",
    help: "Commands this node accepted (sealed into its journal before the client heard 202)",
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: "anonify_commands_refused_total",
    help: "Commands this node refused, by the code that crossed the host in clear (refused: decided inside the envelope)",
    labelNames: ["code"],
    registers: [this.registry],
  });
  private readonly ordered = new Counter({
    name: "anonify_commands_ordered_total",
    help: "Commands accepted here that a batch on chain ordered (applied or failed: the receipt says, sealed)",
    registers: [this.registry],
  });
  private readonly toOrdered = new Histogram({
    name: "anonify_command_ordered_seconds",
    help: "Seconds from a command's accept to the apply of the batch that ordered it",
    buckets: COMMAND_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly toFinal = new Histogram({
    name: "anonify_command_final_seconds",
    help: "Seconds from a command's accept to its batch being buried under the node's finality depth",
    buckets: COMMAND_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchesSent = new Counter({
    name: "anonify_batches_submitted_total",
    help: "Batch transactions this node sent",
    registers: [this.registry],
  });
  private readonly batchesFailed = new Counter({
    name: "anonify_batches_failed_total",
    help: "Batch transactions that did not land (sent again), by reason: reverted or receipt_unread",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  private readonly outputsSent = new Counter({
    name: "anonify_outputs_published_total",
    help: "Public outputs records of batches (src/protocol/public-outputs.ts) this node published on chain",
    registers: [this.registry],
  });
  /** Accept times (ms) of commands not yet ordered, oldest first. */
  private readonly awaitingOrder = new Map<Hex, number>();
  /** Ordered commands not yet final: their batch's block and accept time, in the order applied. */
  private awaitingFinal: { block: bigint; acceptedAt: number }[] = [];

  constructor() {
    // Zero, not absent, before the first: a rate over a series that appears later reads nothing.
    for (const reason of ["reverted", "receipt_unread"] satisfies BatchFailure[])
      this.batchesFailed.inc({ reason }, 0);
  }

  commandAccepted(id: Hex): void {
    this.accepted.inc();
    if (this.awaitingOrder.size >= MAX_TRACKED_COMMANDS) {
      const oldest = this.awaitingOrder.keys().next().value;
      if (oldest !== undefined) this.awaitingOrder.delete(oldest);
    }
    this.awaitingOrder.set(id, Date.now());
  }

  commandRefused(error: unknown): void {
    this.refused.inc({ code: error instanceof EnclaveCallError ? error.code : "internal" });
  }

  /** A command accepted here was ordered in `block` (an apply settled it). */
  commandOrdered(id: Hex, block: bigint | undefined): void {
    this.ordered.inc();
    const acceptedAt = this.awaitingOrder.get(id);
    if (acceptedAt === undefined) return; // accepted before a restart, or forgotten
    this.awaitingOrder.delete(id);
    this.toOrdered.observe((Date.now() - acceptedAt) / MS_PER_SECOND);
    if (block === undefined || this.awaitingFinal.length >= MAX_TRACKED_COMMANDS) return;
    this.awaitingFinal.push({ block, acceptedAt });
  }

  /** Blocks up to `block` are final by the node's depth: their commands' time to final is taken. */
  finalThrough(block: bigint): void {
    if (this.awaitingFinal.length === 0) return;
    const now = Date.now();
    const later: typeof this.awaitingFinal = [];
    for (const c of this.awaitingFinal) {
      if (c.block <= block) this.toFinal.observe((now - c.acceptedAt) / MS_PER_SECOND);
      else later.push(c);
    }
    this.awaitingFinal = later;
  }

  batchSubmitted(): void {
    this.batchesSent.inc();
  }

  outputsPublished(): void {
    this.outputsSent.inc();
  }

  batchFailed(reason: BatchFailure): void {
    this.batchesFailed.inc({ reason });
  }
}
