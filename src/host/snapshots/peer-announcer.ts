// A node started with `--public-url` announces it on chain (`announcePeer`, signed by its enclave
// for its record nonce), so that joiners find it without being told. Once: a restart reads the
// newest announcement of its own enclave first and sends nothing when it names the same URL (an
// announcement costs gas). Run by the node's tick, with its other chain writes, one at a time: they
// share the enclave's record nonce.
import type { Address } from "viem";
import { blockPages } from "../../chain/block-pages.js";
import type { LedgerWallet } from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import type { ChainWriter } from "../chain-io/chain-writer.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { FailureLog, type Logger } from "../log.js";
import { onChainState } from "../registration.js";

/** How long a node waits before it tries again an announcement that failed (the RPC, gas). */
const ANNOUNCE_RETRY_MS = 30_000;

export type PeerAnnouncerOptions = {
  enclave: EnclaveCalls;
  writer: ChainWriter;
  wallet: LedgerWallet;
  contract: Address;
  deployedAtBlock: bigint;
  /** The URL to announce, as `peerUrl` spells it (src/protocol/peer-url.ts). */
  url: string;
  self: () => Address;
  log: Logger;
};

/**
 * The URL `enclave` announced last, or undefined if none: pages read from the newest back, so a
 * restart after an announcement finds it in as few requests as it is recent.
 */
export async function newestAnnouncementOf(
  wallet: LedgerWallet,
  contract: Address,
  enclave: Address,
  fromBlock: bigint,
): Promise<string | undefined> {
  const head = await wallet.publicClient.getBlockNumber({ cacheTime: 0 });
  for (const page of [...blockPages(fromBlock, head)].reverse()) {
    const logs = await wallet.publicClient.getContractEvents({
      address: contract,
      abi: anonifyAbi,
      eventName: "PeerAnnounced",
      args: { enclave },
      fromBlock: page.from,
      toBlock: page.to,
      strict: true,
    });
    const last = logs.at(-1);
    if (last) return last.args.url;
  }
  return undefined;
}

export class PeerAnnouncer {
  /** Announced, found announced already, or not to be announced (the enclave is no longer active). */
  private settled = false;
  /** Whether the chain lacks the announcement: unknown until the lookup, read beside the tick, ends. */
  private needed = false;
  private looking = false;
  private nextAttemptAt = 0;
  private readonly failures: FailureLog;

  constructor(private readonly options: PeerAnnouncerOptions) {
    this.failures = new FailureLog(options.log, "announcing the public URL");
  }

  /**
   * Announces the URL if it is due; whether it sent (or tried to send) a transaction. The chain is
   * first searched for the enclave's newest announcement beside the tick (on a long chain that is
   * many pages of logs, which would hold back the node's other writes meanwhile).
   */
  async announceDue(): Promise<boolean> {
    if (this.settled || this.looking || Date.now() < this.nextAttemptAt) return false;
    if (!this.needed) {
      this.looking = true;
      void this.lookUp().finally(() => {
        this.looking = false;
      });
      return false;
    }
    this.nextAttemptAt = Date.now() + ANNOUNCE_RETRY_MS;
    const { enclave, writer, wallet, contract, url, log } = this.options;
    try {
      const record = await onChainState(wallet, contract, this.options.self());
      if (!this.stillActive(record.stateName)) return false;
      const nonce = record.recordNonce;
      const { signature } = await enclave.call("signPeerAnnouncement", { nonce: nonce.toString(), url });
      // A refusal is logged by the writer (a nonce another write took first: tried again later).
      if (await writer.send("announcePeer", [nonce, url, signature])) {
        this.settled = true;
        log.info({ url }, "public URL announced on chain");
      }
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error);
    }
    return true;
  }

  /** Whether the chain already shows this enclave's announcement of the URL (then nothing is sent). */
  private async lookUp(): Promise<void> {
    const { wallet, contract, url, log } = this.options;
    try {
      const self = this.options.self();
      const record = await onChainState(wallet, contract, self);
      if (!this.stillActive(record.stateName)) return;
      if ((await newestAnnouncementOf(wallet, contract, self, this.options.deployedAtBlock)) === url) {
        this.settled = true;
        log.info({ url }, "public URL already announced on chain");
      } else this.needed = true;
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error);
      this.nextAttemptAt = Date.now() + ANNOUNCE_RETRY_MS;
    }
  }

  /** A revoked or departed enclave announces nothing (the contract would refuse it): said once. */
  private stillActive(state: string): boolean {
    if (state === "active") return true;
    this.settled = true;
    this.options.log.warn(
      { url: this.options.url, state },
      "public URL not announced: the enclave is not active",
    );
    return false;
  }
}
