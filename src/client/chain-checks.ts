// What the client checks on chain before it believes a node: that a receipt's batch is the
// contract's (and when it is final), and that a query answer reflects a state the chain holds and is
// recent. A node that applied a batch never submitted, answers from a fork (another history, or
// another state on the same history: its state digest is not the one the chain records there), or
// answers from long ago, is caught here.
import {
  type Address,
  bytesToHex,
  type DecodeEventLogReturnType,
  encodeEventTopics,
  type Hex,
  hexToBytes,
  isAddressEqual,
  numberToHex,
  pad,
} from "viem";
import { getBlockNumber, readContract } from "viem/actions";
import type { PlatformName } from "../attestation/verdict.js";
import { DEFAULT_PAGE_BLOCKS } from "../chain/block-pages.js";
import { finalityDepth, isFinal } from "../chain/finality.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { decodeHandshake } from "../group/handshake-frames.js";
import { ZERO_HASH } from "../protocol/digests.js";
import type { PolicyKeys, PolicyState } from "../protocol/policy-document.js";
import type { BatchRef, LedgerPoint } from "../protocol/receipts.js";
import type { ChainClient } from "./chain-client.js";
import type { CommandReceipt } from "./command.js";
import { type ContractLog, contractLogs } from "./contract-logs.js";
import type { EvidenceSource, Registration } from "./enclave-evidence.js";
import { platformName } from "./enclave-policy.js";
import { AnonifyClientError } from "./errors.js";
import type { ChainTarget } from "./network-profile-format.js";
import { publishedCollateral } from "./published-collateral.js";

/** A receipt the client checked on chain: its batch is the contract's; `final` once deep enough. */
export type CheckedReceipt = CommandReceipt & { final: boolean };

/** How long after an event is ordered an answer may still not reflect it, by default (seconds). */
export const DEFAULT_MAX_LAG_SECONDS = 30;

/** The point a query answer reflects, as the client checked it on chain. */
export type AnswerPosition = LedgerPoint & {
  /** Events of the contract's sequence after this point when the client asked (0: none). */
  behind: bigint;
  /** Seconds since the first of those was ordered, by the client's clock (0 if none). */
  lagSeconds: number;
  /** State digests the chain records at this point (batches signed there): each equal to `digest`. */
  claims: number;
};

/** The contract's event at one position of its sequence, decoded. */
type SequencedLog = Extract<
  DecodeEventLogReturnType<typeof anonifyAbi>,
  { args: { seq: bigint; head: Hex } }
>;

const MS_PER_SECOND = 1000;
/** Pages of blocks after a point that the client reads for batches signed at it. */
const CLAIM_SCAN_PAGES = 8n;
/**
 * How many handshakes back a client looks for one whose committer it trusts: each names the whole
 * member set, so only an untrusted committer's (an owner's fake enclave's, which members void) are
 * passed over.
 */
const MEMBER_SET_LOOKBACK = 16n;

/** The member set a handshake names: its slot, committer and the commitment to its members. */
/** A batch's outputs record as the chain holds it; `head`: the head after the batch's own event. */
export type PublishedRecord = {
  batch: bigint;
  enclave: Address;
  seq: bigint;
  head: Hex;
  outputs: Hex;
  signature: Hex;
  block: bigint;
};

export type NamedMemberSet = { slot: bigint; committer: Address; digest: Hex };

export class ChainChecks implements EvidenceSource {
  constructor(
    /** The chain, from the user's network profile. */
    private readonly chain: ChainClient,
    private readonly target: ChainTarget,
    /** Blocks that must follow a batch for `final` (default: 0 on the devnet, else 12). */
    private readonly confirmations?: bigint,
    /**
     * Whether a state digest an enclave signed counts: any active enclave can put a batch on chain,
     * so one the client does not trust (an owner's fake) could otherwise make every honest answer
     * at that point look like a fork. Every claim counts when omitted.
     */
    private readonly counts: (enclave: Address) => Promise<boolean> = async () => true,
  ) {}

  /**
   * The contract's logs with `topics` in blocks `from` to `to`, decoded, a page at a time (providers
   * cap a log range), until `found` takes one; what it took, with its block.
   */
  private async firstLog<T>(
    topics: readonly (Hex | Hex[] | null)[],
    from: bigint,
    to: bigint,
    found: (decoded: DecodeEventLogReturnType<typeof anonifyAbi>) => T | undefined,
  ): Promise<{ value: T; block: bigint } | undefined> {
    for await (const { decoded, block } of this.logs(topics, from, to)) {
      const value = found(decoded);
      if (value !== undefined) return { value, block };
    }
    return undefined;
  }

  /** The contract's logs with `topics` in blocks `from` to `to`, decoded, in chain order. */
  private logs(
    topics: readonly (Hex | Hex[] | null)[],
    from: bigint,
    to: bigint,
  ): AsyncGenerator<ContractLog> {
    return contractLogs(this.chain, this.target.contract, topics, from, to);
  }

  /**
   * Batch `batch`'s public outputs record as the chain holds it (`OutputsPublished`, read from block
   * `from` on: the batch's, where a receipt names it), with the head of the batch's event, which its
   * signature covers; undefined while none is published. Checked by public-outputs.ts.
   */
  async outputsOf(batch: bigint, from = this.firstBlock): Promise<PublishedRecord | undefined> {
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    const topic = (eventName: "OutputsPublished" | "BatchSubmitted") =>
      encodeEventTopics({ abi: anonifyAbi, eventName, args: { batch } });
    const record = await this.firstLog(topic("OutputsPublished"), from, head, (d) =>
      d.eventName === "OutputsPublished" && d.args.batch === batch ? d.args : undefined,
    );
    if (!record) return undefined;
    const ordered = await this.firstLog(topic("BatchSubmitted"), from, record.block, (d) =>
      d.eventName === "BatchSubmitted" && d.args.batch === batch ? d.args : undefined,
    );
    if (!ordered) return undefined;
    const { enclave, seq, outputs, signature } = record.value;
    return { batch, enclave, seq, head: ordered.value.head, outputs, signature, block: record.block };
  }

  /** The first block to read the contract's logs from: its deployment's, where the profile names it. */
  private get firstBlock(): bigint {
    return this.target.deployedAtBlock ?? 0n;
  }

  async isActive(address: Address): Promise<boolean> {
    return readContract(this.chain, {
      address: this.target.contract,
      abi: anonifyAbi,
      functionName: "isActive",
      args: [address],
    });
  }

  /** The enclave's registration as its `EnclaveRegistered` event carries it (its evidence included). */
  async registration(address: Address): Promise<Registration | undefined> {
    const topics = encodeEventTopics({
      abi: anonifyAbi,
      eventName: "EnclaveRegistered",
      args: { enclave: address },
    });
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    const hit = await this.firstLog(topics, this.firstBlock, head, (decoded) =>
      decoded.eventName === "EnclaveRegistered" && isAddressEqual(decoded.args.enclave, address)
        ? decoded.args
        : undefined,
    );
    if (!hit) return undefined;
    const platform = platformName(hit.value.platform);
    if (!platform) return undefined;
    const { hpkePublicKey, app, evidence } = hit.value;
    return { address, platform, hpkePublicKey, app, evidence };
  }

  /**
   * The policy the documents on chain signed by `threshold` of `keys` make together, folded as members
   * fold them (`nextPolicyState`); documents that do not verify count for nothing. Undefined when none does.
   */
  async signedPolicy(keys: PolicyKeys): Promise<PolicyState | undefined> {
    const topics = encodeEventTopics({ abi: anonifyAbi, eventName: "PolicyPublished" });
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    const domain = { chainId: this.target.chainId, contract: this.target.contract };
    // Loaded on first use: its signature checks bring libsecp256k1 in WebAssembly (1.2 MB), which a
    // page needs only when its profile names policy keys.
    const [{ nextPolicyState, PolicyError }, { verifyPolicy }] = await Promise.all([
      import("../protocol/policy-document.js"),
      import("../protocol/policy-signatures.js"),
    ]);
    let state: PolicyState | undefined;
    for await (const { decoded } of this.logs(topics, this.firstBlock, head)) {
      if (decoded.eventName !== "PolicyPublished") continue;
      try {
        state = nextPolicyState(
          state,
          verifyPolicy(decoded.args.document, decoded.args.signatures, domain, keys),
        );
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
      }
    }
    return state;
  }

  /**
   * The member set the newest handshake that `trusts` takes names: its committer's commitment to the
   * group its commit made (src/group/handshake-frames.ts; members void a commit that names another,
   * so a trusted committer's names the members). Undefined when none of the last MEMBER_SET_LOOKBACK
   * handshakes is a trusted committer's; null when the chain holds no handshake at all (the group is
   * its creator alone, who has committed nothing yet).
   */
  async memberSet(
    trusts: (enclave: Address) => Promise<boolean>,
  ): Promise<NamedMemberSet | null | undefined> {
    const next = await readContract(this.chain, {
      address: this.target.contract,
      abi: anonifyAbi,
      functionName: "epoch",
    });
    if (next === 0n) return null;
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    for (let slot = next - 1n; slot >= 0n && slot >= next - MEMBER_SET_LOOKBACK; slot--) {
      const topics = encodeEventTopics({
        abi: anonifyAbi,
        eventName: "HandshakeCommitted",
        args: { epoch: slot },
      });
      const hit = await this.firstLog(topics, this.firstBlock, head, (decoded) =>
        decoded.eventName === "HandshakeCommitted" && decoded.args.epoch === slot ? decoded.args : undefined,
      );
      if (!hit || !(await trusts(hit.value.enclave))) continue;
      let named: Uint8Array | undefined;
      try {
        named = decodeHandshake(hexToBytes(hit.value.handshake)).memberSet;
      } catch {
        continue;
      }
      if (named) return { slot, committer: hit.value.enclave, digest: bytesToHex(named) };
    }
    return undefined;
  }

  /**
   * The DCAP collateral that judges this quote: of the sets published for its platform, FMSPC and PCK
   * CA, the freshest that verifies to the pinned Intel root, as a member enclave holds them
   * (src/attestation/held-collateral.ts); undefined for other platforms or when none was published.
   */
  async collateral(platform: PlatformName, evidence: Hex, rootCertificatePem?: string): Promise<unknown> {
    return publishedCollateral(this.chain, this.target, platform, evidence, rootCertificatePem);
  }

  /**
   * The contract's event at position `seq` of its sequence, from block `from` to `to` (the chain's
   * head block number `head` when omitted): every event of the sequence has its position as its
   * first indexed field, so `eth_getLogs` of that topic finds it.
   */
  private async eventAt(
    seq: bigint,
    from: bigint,
    to?: bigint,
  ): Promise<{ head: bigint; event?: SequencedLog; block?: bigint }> {
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    const last = to === undefined || to > head ? head : to;
    const hit = await this.firstLog([null, pad(numberToHex(seq))], from, last, (decoded) =>
      "seq" in decoded.args && decoded.args.seq === seq ? (decoded as SequencedLog) : undefined,
    );
    return hit ? { head, event: hit.value, block: hit.block } : { head };
  }

  /**
   * Checks an ordered receipt against the chain: the contract's event at the position the receipt's
   * batch names is a `BatchSubmitted` of that index, in the block named, with the same event chain
   * head, and its sequence range holds the receipt's sequence (`receipt_not_on_chain` if not), and
   * `trustSubmitter` takes the enclave that submitted it (it throws if the client does not). Returns
   * whether the batch is final: at least `confirmations` blocks deep, or at or below the chain's
   * finalized block. Check a receipt again later to see it become final.
   */
  async checkReceipt(
    receipt: CommandReceipt,
    trustSubmitter?: (enclave: Address) => Promise<void>,
  ): Promise<CheckedReceipt> {
    const batch: BatchRef | undefined = receipt.batch;
    const refuse = (why: string) =>
      new AnonifyClientError(
        "receipt_not_on_chain",
        `the receipt of ${receipt.command} names ${why}: the chain does not hold the batch it claims`,
      );
    if (!batch) throw refuse("no batch");
    const { head, event } = await this.eventAt(batch.seq, batch.block, batch.block);
    if (event?.eventName !== "BatchSubmitted" || event.args.batch !== batch.index)
      throw refuse(
        `batch ${batch.index} at event ${batch.seq} in block ${batch.block}, where the contract has none`,
      );
    if (event.args.head.toLowerCase() !== batch.head.toLowerCase())
      throw refuse(`batch ${batch.index} with another event head than the contract's`);
    const { firstSequence, count } = event.args;
    if (receipt.sequence < firstSequence || receipt.sequence >= firstSequence + BigInt(count))
      throw refuse(`sequence ${receipt.sequence}, outside batch ${batch.index}`);
    await trustSubmitter?.(event.args.enclave);
    if (batch.digest !== undefined) {
      const { next } = await this.after(batch);
      if (next) await this.claimsAgree(batch, next.block, head, `the receipt of ${receipt.command}`);
    }
    return { ...receipt, final: await this.isFinal(batch.block, head) };
  }

  /**
   * The state digests the chain records at position `at.seq` (each batch signed there names its
   * signer's; only those of enclaves this client trusts count), which must all be `at.digest`: `answer_from_fork` if one is not, or if `at` names none
   * where the chain records some. Returns how many there are. Claims come after the point they name:
   * from `next` (the block of the event after it) on, for CLAIM_SCAN_PAGES pages at most (a batch is
   * signed at the newest point its enclave applied, so its claims come within blocks of the next event).
   */
  private async claimsAgree(at: LedgerPoint, next: bigint, head: bigint, what: string): Promise<number> {
    const last = next + CLAIM_SCAN_PAGES * DEFAULT_PAGE_BLOCKS - 1n;
    const topics = encodeEventTopics({
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { baseSeq: at.seq },
    });
    let claims = 0;
    for await (const { decoded } of this.logs(topics, next, last < head ? last : head)) {
      if (decoded.eventName !== "BatchSubmitted" || decoded.args.baseSeq !== at.seq) continue;
      if (!(await this.counts(decoded.args.enclave))) continue;
      if (decoded.args.stateDigest.toLowerCase() !== at.digest?.toLowerCase())
        throw new AnonifyClientError(
          "answer_from_fork",
          `${what} reflects a state at event ${at.seq} whose digest is ${at.digest ?? "not named"}, ` +
            `where batch ${decoded.args.batch} by ${decoded.args.enclave} records ${decoded.args.stateDigest}: ` +
            "a state the network does not hold",
        );
      claims++;
    }
    return claims;
  }

  /** The chain past `at`: how many events it holds after it, and where and when the first was ordered. */
  private async after(
    at: LedgerPoint,
  ): Promise<{ behind: bigint; head: bigint; next?: { block: bigint; timestamp: bigint } }> {
    const count = await readContract(this.chain, {
      address: this.target.contract,
      abi: anonifyAbi,
      functionName: "eventCount",
    });
    if (count <= at.seq) return { behind: 0n, head: await getBlockNumber(this.chain, { cacheTime: 0 }) };
    const behind = count - at.seq;
    const { head, event, block } = await this.eventAt(at.seq + 1n, at.block);
    // Not found: reorganised away since `eventCount` was read.
    if (!event || block === undefined) return { behind, head };
    return { behind, head, next: { block, timestamp: event.args.timestamp } };
  }

  private isFinal(block: bigint, head: bigint): Promise<boolean> {
    return isFinal(this.chain, block, head, finalityDepth(this.target.chainId, this.confirmations));
  }

  /**
   * Checks the point an answer names against the chain: the contract's event at position `seq` of
   * its sequence is in the block named, with the event chain's head `head` after it (position 0: the
   * zero hash), and every state digest the chain records there is the answer's. Throws
   * `answer_from_fork` if not: the node answered from a history, or a state, the chain does not hold.
   * Then freshness: `stale_answer` if the chain holds an event after that point that was ordered more
   * than `maxLagSeconds` ago (by this client's clock) and is `confirmations` blocks deep (a node may
   * follow the chain that far behind).
   */
  async checkAnswer(at: LedgerPoint, maxLagSeconds = DEFAULT_MAX_LAG_SECONDS): Promise<AnswerPosition> {
    const refuse = (why: string) =>
      new AnonifyClientError(
        "answer_from_fork",
        `the answer reflects ${why}: a state the chain does not hold (event head ${at.head})`,
      );
    if (at.seq === 0n) {
      if (at.head.toLowerCase() !== ZERO_HASH) throw refuse("no event, with a head");
    } else {
      const { event } = await this.eventAt(at.seq, at.block, at.block);
      if (!event) throw refuse(`event ${at.seq} in block ${at.block}, where the contract has none`);
      if (event.args.head.toLowerCase() !== at.head.toLowerCase())
        throw refuse(`event ${at.seq} with another head than the contract's`);
    }
    const { behind, head, next } = await this.after(at);
    if (!next) return { ...at, behind, lagSeconds: 0, claims: 0 }; // nothing after it, so no claim yet
    const lagSeconds = Math.max(0, Math.floor(Date.now() / MS_PER_SECOND) - Number(next.timestamp));
    const deep = head - next.block >= finalityDepth(this.target.chainId, this.confirmations);
    if (deep && lagSeconds > maxLagSeconds)
      throw new AnonifyClientError(
        "stale_answer",
        `the answer reflects the chain up to event ${at.seq} (block ${at.block}); the chain holds ${behind} ` +
          `events more, the first ordered ${lagSeconds} s ago in block ${next.block} (bound: ${maxLagSeconds} s): ` +
          "the node is behind",
      );
    const claims = await this.claimsAgree(at, next.block, head, "the answer");
    return { ...at, behind, lagSeconds, claims };
  }
}
