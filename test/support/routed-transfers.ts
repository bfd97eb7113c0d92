// Transfers of 1 from several senders, each through the nodes the test routes to (as a load balancer
// in front of a network would), one command at a time per sender: every command a node acknowledged
// is recorded, then its receipt. A sender takes the routed nodes in turn; before its first command at
// another node it waits until that node has applied its last one, since a sender's nonces run in
// order whichever node orders them.
import type { Address, Hex, LocalAccount } from "viem";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import type { CheckedReceipt } from "../../src/client/chain-checks.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import type { NetworkProfile } from "../../src/client/network-profile.js";
import { until } from "./wait.js";

/**
 * Refusals that mean "not at this node now": a node between states (restarting, syncing, behind the
 * chain), or one whose member list is behind the newest handshake when a client connects.
 */
const NOT_NOW = new Set(["enclave_restarting", "syncing", "http_503", "enclave_not_member"]);
/** How long a sender goes on meeting only "not now" before the stream fails. */
const NOT_NOW_LIMIT_MS = 60_000;

export type Acknowledged = {
  sender: Address;
  nonce: bigint;
  id: Hex;
  /** The node that acknowledged it. */
  node: string;
  /** Its receipt, once opened and checked on chain. */
  receipt?: CheckedReceipt;
};

export type RoutedTransfers = {
  /** Every command a node acknowledged, in the order acknowledged. */
  readonly acknowledged: readonly Acknowledged[];
  /** The nodes new commands go to from now on. */
  route(urls: readonly string[]): void;
  /** Resolves once no sender has a command in flight at `url` (to call after `route` left it out). */
  drained(url: string): Promise<void>;
  /** Ends the stream after the commands in flight have their receipts; rejects if a sender failed. */
  stop(): Promise<void>;
};

async function ready(url: string): Promise<true | undefined> {
  return (await fetch(new URL("/v1/ready", url))).ok ? true : undefined;
}

async function appliedAtLeast(url: string, sequence: bigint): Promise<true | undefined> {
  const res = await fetch(new URL("/v1/status", url));
  if (!res.ok) return undefined;
  const { appliedSequence } = (await res.json()) as { appliedSequence: string };
  return BigInt(appliedSequence) >= sequence ? true : undefined;
}

/** Starts `senders` sending transfers of 1 to `to` through `urls`, until stopped. */
export function startRoutedTransfers(
  network: NetworkProfile,
  senders: readonly LocalAccount[],
  to: Address,
  urls: readonly string[],
): RoutedTransfers {
  const acknowledged: Acknowledged[] = [];
  const inFlightAt = new Map<number, string>();
  const clients = new Map<string, AnonifyClient>();
  let routed = [...urls];
  let running = true;

  const clientFor = async (account: LocalAccount, node: string) => {
    const key = `${account.address}@${node}`;
    const known = clients.get(key);
    if (known) return known;
    const client = await AnonifyClient.connect({ network, node, account });
    clients.set(key, client);
    return client;
  };

  /** Runs `step` at `node` until it succeeds, retrying "not now" once the node says it is ready. */
  const persist = async <T>(what: string, node: string, step: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + NOT_NOW_LIMIT_MS;
    for (;;) {
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof AnonifyClientError) || !NOT_NOW.has(error.code) || Date.now() > deadline)
          throw new Error(`${what} at ${node}: ${(error as Error).message}`, { cause: error });
        await until(`${node} to be ready (after ${error.code})`, () => ready(node));
      }
    }
  };

  const send = async (index: number) => {
    const account = senders[index]!;
    let nonce = 0n;
    let turn = index;
    let last: { node: string; sequence: bigint } | undefined;
    while (running) {
      const node = routed[turn++ % routed.length]!;
      inFlightAt.set(index, node);
      try {
        if (last && last.node !== node)
          await until(`${node} to apply ${account.address}'s last command`, () =>
            appliedAtLeast(node, last!.sequence + 1n),
          );
        const sent = await persist("sending a transfer", node, async () =>
          (await clientFor(account, node)).send("transfer", { to, amount: "1" }, nonce),
        );
        const ack: Acknowledged = { sender: account.address, nonce, id: sent.id, node };
        acknowledged.push(ack);
        nonce++;
        ack.receipt = await persist(`the receipt of ${sent.id}`, node, async () =>
          (await clientFor(account, node)).waitForReceipt(sent.id, sent.responseKey),
        );
        last = { node, sequence: ack.receipt.sequence };
      } finally {
        inFlightAt.delete(index);
      }
    }
  };
  const loops = senders.map((_, i) => send(i));
  // A sender that fails ends the stream: `stop` reports why.
  const all = Promise.all(loops);
  all.catch(() => {
    running = false;
  });

  return {
    acknowledged,
    route(next) {
      if (next.length === 0) throw new Error("route at least one node");
      routed = [...next];
    },
    async drained(url) {
      // A sender that failed fails the wait too, with its reason.
      await Promise.race([
        all,
        until(`the senders to finish their commands at ${url}`, () =>
          [...inFlightAt.values()].includes(url) ? undefined : true,
        ),
      ]);
    },
    async stop() {
      running = false;
      await all;
    },
  };
}
