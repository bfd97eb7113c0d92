// Peers found on chain: the URLs nodes announced (`PeerAnnounced`, each signed by its node's enclave,
// so no one announces for an enclave but its own host). A joiner asks them for the state snapshot it
// needs besides its `--peer` URLs. An announced URL earns no trust: the joiner checks the bytes it
// gets against the hash committed on chain, so a host that announces a wrong URL, or serves other
// bytes, costs a retry with the next peer.
import type { Address, Hex } from "viem";
import { blockPages } from "../../chain/block-pages.js";
import type { Ledger } from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import { peerUrl } from "../../protocol/peer-url.js";
import type { Logger } from "../log.js";

export type PeerDiscoveryOptions = {
  ledger: Ledger;
  contract: Address;
  /** The contract's deployment block: no announcement is older. */
  deployedAtBlock: bigint;
  /** This node's enclave: its own URL is no peer of its own. */
  self: () => Address;
  log: Logger;
};

const lower = (address: Address): Hex => address.toLowerCase() as Hex;

/**
 * Adds each enclave's newest URL announced in blocks `from` to `to` (of `enclave` only, if given) to
 * `into`, read in pages as every reader of the contract's logs does (block-pages.ts).
 */
export async function readAnnouncements(
  ledger: Ledger,
  contract: Address,
  { from, to, enclave }: { from: bigint; to: bigint; enclave?: Address },
  into: Map<Hex, string>,
): Promise<void> {
  for (const page of blockPages(from, to)) {
    const logs = await ledger.publicClient.getContractEvents({
      address: contract,
      abi: anonifyAbi,
      eventName: "PeerAnnounced",
      ...(enclave ? { args: { enclave } } : {}),
      fromBlock: page.from,
      toBlock: page.to,
      strict: true,
    });
    // In chain order: a later announcement replaces the enclave's earlier one.
    for (const { args } of logs) into.set(lower(args.enclave), args.url);
  }
}

export class PeerDiscovery {
  /** The last block read; announcements after it are read at the next look. */
  private scanned: bigint;
  /** Each enclave's newest announcement seen so far, by its address in lower case. */
  private readonly newest = new Map<Hex, string>();
  /** Announcements already said to be unusable (said once each). */
  private readonly refused = new Set<string>();

  constructor(private readonly options: PeerDiscoveryOptions) {
    this.scanned = options.deployedAtBlock - 1n;
  }

  /**
   * The URLs announced by enclaves active on chain now (not revoked, not left), each enclave's newest
   * only, this node's own excluded. Each look reads the blocks since the last and every announcer's
   * state again, so a peer announced later is found, and one that left is dropped, without a restart.
   */
  async announced(): Promise<string[]> {
    const { ledger, contract } = this.options;
    const head = await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
    if (head > this.scanned) {
      await readAnnouncements(ledger, contract, { from: this.scanned + 1n, to: head }, this.newest);
      this.scanned = head;
    }
    const self = lower(this.options.self());
    const candidates = [...this.newest].filter(([enclave]) => enclave !== self);
    const active = await Promise.all(
      candidates.map(([enclave]) =>
        ledger.publicClient.readContract({
          address: contract,
          abi: anonifyAbi,
          functionName: "isActive",
          args: [enclave],
        }),
      ),
    );
    const urls = new Set<string>();
    candidates.forEach(([enclave, announced], i) => {
      if (!active[i]) return;
      const checked = peerUrl(announced);
      if ("url" in checked) urls.add(checked.url);
      else this.refuse(enclave, announced, checked.problem);
    });
    return [...urls];
  }

  /** An announcement no joiner asks (another host's making: only its length is shown). */
  private refuse(enclave: Hex, announced: string, problem: string): void {
    const key = `${enclave} ${announced}`;
    if (this.refused.has(key)) return;
    this.refused.add(key);
    this.options.log.info(
      { enclave, length: announced.length },
      `a peer URL announced on chain is not used: it ${problem}`,
    );
  }
}
