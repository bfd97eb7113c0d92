// For tests only (nothing in the enclave bundle imports it): the contract's event log for enclaves
// run in process, as an honest host would feed it — registrations with each enclave's own evidence,
// key packages, handshakes and batches chained as the contract chains them (slots, heads, sequences).
import type { Hex } from "viem";
import type { ApplyResult } from "../boundary/calls.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { type LedgerDomain, nextBatchHead, nextHandshakeHead, ZERO_HASH } from "../protocol/digests.js";
import type { Enclave } from "./enclave.js";
import { call, DOMAIN } from "./test-harness.js";

type Member = { enclave: Enclave; address: Hex; hpkePublicKey: Hex; sealedIdentity: Hex };

export class TestChain {
  readonly events: LedgerEvent[] = [];
  private block = 1;
  slot = 0n;
  private handshakeHead: Hex = ZERO_HASH;
  batches = 0n;
  sequence = 0n;
  private batchHead: Hex = ZERO_HASH;

  constructor(readonly domain: LedgerDomain = DOMAIN) {}

  private push(event: Record<string, unknown>): LedgerEvent {
    const positioned = { ...event, block: String(this.block++), logIndex: 0 } as LedgerEvent;
    this.events.push(positioned);
    return positioned;
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

  /** Feeds `enclave` every event (it skips those at or before its cursor). */
  feed(enclave: Enclave): Promise<ApplyResult> {
    return call(enclave, "applyEvents", { events: this.events });
  }

  /** Orders the commit `by` proposes now, if any; false if it proposes none. */
  async commit(by: Member, rotate = false): Promise<boolean> {
    const proposal = await call(by.enclave, "proposeHandshake", { rotate });
    if (proposal.handshake === null) return false;
    if (BigInt(proposal.epoch) !== this.slot)
      throw new Error(`proposal for slot ${proposal.epoch}, chain at ${this.slot}`);
    this.handshakeHead = nextHandshakeHead(this.handshakeHead, this.slot, by.address, proposal.handshake);
    this.push({
      kind: "HandshakeCommitted",
      epoch: this.slot.toString(),
      enclave: by.address,
      head: this.handshakeHead,
      handshake: proposal.handshake,
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
      const epoch = BigInt(offer.epoch);
      const head = nextBatchHead(this.batchHead, {
        index: this.batches,
        epoch,
        firstSequence: this.sequence,
        count: offer.count,
        enclave: by.address,
        ciphertext: offer.ciphertext,
      });
      this.push({
        kind: "BatchSubmitted",
        batch: this.batches.toString(),
        epoch: offer.epoch,
        firstSequence: this.sequence.toString(),
        count: offer.count,
        enclave: by.address,
        head,
        ciphertext: offer.ciphertext,
      });
      this.batchHead = head;
      this.batches++;
      this.sequence += BigInt(offer.count);
      commands += offer.count;
    }
    return commands;
  }
}
