// For tests only (nothing in the enclave bundle imports it): the contract's event log for enclaves
// run in process, as an honest host would feed it — registrations with each enclave's own evidence,
// key packages, handshakes and batches placed in the contract's one sequence as it places them
// (positions, block times, the event hash chain; slots and command sequences).
import type { Hex } from "viem";
import type { ApplyResult } from "../boundary/call-results.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { type ChainPosition, GENESIS_POSITION, positionAfter } from "../protocol/event-chain.js";
import type { Enclave } from "./enclave.js";
import { call, DOMAIN } from "./test-harness.js";

type Member = { enclave: Enclave; address: Hex; hpkePublicKey: Hex; sealedIdentity: Hex };

/** An event as a test writes it: the contract gives it its place (`EventLog.append`). */
export type UnplacedEvent = LedgerEvent extends infer E
  ? E extends LedgerEvent
    ? Omit<E, "seq" | "timestamp" | "head" | "block" | "logIndex">
    : never
  : never;

const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

/**
 * The contract's event sequence as tests write it: each event appended takes the next position, the
 * block time `time()` gives (never going back) and the event chain's head, in a block of its own.
 */
export class EventLog {
  readonly events: LedgerEvent[] = [];
  private at: ChainPosition = GENESIS_POSITION;
  private timestamp = 0n;

  constructor(private readonly time: () => bigint = nowSeconds) {}

  get position(): ChainPosition {
    return this.at;
  }

  /** Places `event` as the contract would; with `block`, in that block (default: a new one). */
  append(event: UnplacedEvent, block = this.events.length + 1): LedgerEvent {
    const time = this.time();
    if (time > this.timestamp) this.timestamp = time;
    this.at = positionAfter(this.at, event as never, this.timestamp);
    const placed = {
      ...event,
      seq: this.at.seq.toString(),
      timestamp: this.timestamp.toString(),
      head: this.at.head,
      block: String(block),
      logIndex: 0,
    } as LedgerEvent;
    this.events.push(placed);
    return placed;
  }
}

export class TestChain {
  private readonly log: EventLog;
  slot = 0n;
  batches = 0n;
  sequence = 0n;

  /** `time`: the block time each next event gets (default: now). */
  constructor(
    readonly domain: LedgerDomain = DOMAIN,
    time?: () => bigint,
  ) {
    this.log = new EventLog(time);
  }

  get events(): LedgerEvent[] {
    return this.log.events;
  }

  /** Places `event` next in the sequence (what anyone may publish: a policy, collateral). */
  push(event: UnplacedEvent): LedgerEvent {
    return this.log.append(event);
  }

  /** Initializes `enclave` (or unseals its identity), registers it with its own evidence and publishes its key package. */
  async register(enclave: Enclave, sealedIdentity?: Hex): Promise<Member> {
    const init = await call(enclave, "init", { ...this.domain, sealedIdentity });
    const quote = await call(enclave, "quote", {});
    this.push({
      kind: "EnclaveRegistered",
      enclave: init.address,
      platform: 0,
      measurement: `0x${"07".repeat(32)}`,
      debug: true,
      hpkePublicKey: init.hpkePublicKey,
      app: quote.app,
      report: `0x${"00".repeat(224)}`,
      reportSignature: `0x${"00".repeat(65)}`,
      evidence: quote.evidence,
    });
    const kp = await call(enclave, "keyPackage", { nonce: "0" });
    this.push({
      kind: "KeyPackagePublished",
      enclave: init.address,
      nonce: "0",
      keyPackage: kp.keyPackage,
      signature: kp.signature,
    });
    return {
      enclave,
      address: init.address,
      hpkePublicKey: init.hpkePublicKey,
      sealedIdentity: init.sealedIdentity,
    };
  }

  /** Feeds `enclave` every event after its cursor, as a host does. */
  async feed(enclave: Enclave): Promise<ApplyResult> {
    const { cursor } = await call(enclave, "groupStatus", {});
    const after = BigInt(cursor?.seq ?? "0");
    return call(enclave, "applyEvents", { events: this.events.filter((e) => BigInt(e.seq) > after) });
  }

  /** Orders the commit `by` proposes now, if any; false if it proposes none. */
  async commit(by: Member, rotate = false): Promise<boolean> {
    const proposal = await call(by.enclave, "proposeHandshake", { rotate });
    if (proposal.handshake === null) return false;
    if (BigInt(proposal.epoch) !== this.slot)
      throw new Error(`proposal for slot ${proposal.epoch}, chain at ${this.slot}`);
    this.push({
      kind: "HandshakeCommitted",
      epoch: this.slot.toString(),
      enclave: by.address,
      rotation: proposal.rotation,
      baseSeq: proposal.baseSeq,
      handshake: proposal.handshake,
      signature: proposal.signature,
    });
    this.slot++;
    return true;
  }

  /** Orders the batches `by` offers now (sealed for the current slot); how many commands they hold. */
  async batch(by: Member): Promise<number> {
    const { batches } = await call(by.enclave, "sealBatch", { maxCommands: 64 });
    let commands = 0;
    for (const offer of batches) {
      if (!offer.ciphertext) continue;
      this.push({
        kind: "BatchSubmitted",
        batch: this.batches.toString(),
        baseSeq: offer.baseSeq,
        epoch: offer.epoch,
        firstSequence: this.sequence.toString(),
        count: offer.count,
        enclave: by.address,
        stateDigest: offer.stateDigest,
        ciphertext: offer.ciphertext,
        signature: offer.signature,
      });
      this.batches++;
      this.sequence += BigInt(offer.count);
      commands += offer.count;
    }
    return commands;
  }
}
