// One run under load: a fresh fault network, a token and its funded senders, the transfer stream
// with its receipt checker, then `during` (a fault, a soak), then the stream stopped, the receipts
// settled and the ledger accounted for at every node, and the network stopped whatever happened.
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { firstLine } from "../../src/host/log.js";
import { waitForSameSequence } from "../../test/support/group.js";
import { issueToken, newAccount } from "../../test/support/token.js";
import { type Accounting, account } from "./accounting.js";
import { type FaultNet, type LogTally, NODES, startFaultNet } from "./net.js";
import { ReceiptChecker } from "./receipts.js";
import { type Sender, TransferStream } from "./stream.js";

/** Each sender's funds: far more than any run sends at amount 1, so no transfer fails for want of it. */
const FUNDS = 10n ** 9n;
/** A client request the node has not answered in this long has failed (a wallet gives up too). */
const REQUEST_TIMEOUT_MS = 20_000;
/** How long, after the stream stops, each acknowledged command may still take to show its receipt. */
const SETTLE_MS = 180_000;

export type LoadOptions = {
  /** Proxied RPC URLs per node (0: Anvil itself). */
  endpoints: number;
  senders: number;
  /** Transfers per second over all senders. */
  rate: number;
};

export type Loaded = { net: FaultNet; stream: TransferStream };

export type LoadedRun<T> = {
  result?: T;
  accounting?: Accounting;
  logs?: LogTally;
  /** The first error that stopped the run or its checks. */
  error?: string;
};

/** A client's requests with a deadline, so a node that hangs fails the attempt instead of the stream. */
const timedFetch: typeof globalThis.fetch = (input, init) =>
  fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

export async function underLoad<T>(
  options: LoadOptions,
  during: (loaded: Loaded) => Promise<T>,
): Promise<LoadedRun<T>> {
  let stream: TransferStream | undefined;
  let net: FaultNet | undefined;
  const run: LoadedRun<T> = {};
  const failed = (e: unknown) => {
    run.error ??= firstLine(e);
  };
  try {
    net = await startFaultNet(options.endpoints, (ms) => stream!.hold(ms));
    run.logs = net.tally;
    const token = await issueToken(net, 0);
    const network = readNetworkProfile(net.profile);
    const senders: Sender[] = [];
    for (let i = 0; i < options.senders; i++) {
      const account = await token.fundedAccount(FUNDS);
      const node = i % NODES;
      const client = await AnonifyClient.connect({
        network,
        node: net.nodes[node]!.url,
        account,
        fetch: timedFetch,
      });
      senders.push({ account, recipient: newAccount(), node, client });
    }
    const setupSequence = await waitForSameSequence(net.running());
    const checker = new ReceiptChecker(senders);
    stream = new TransferStream(senders, options.rate, (a) => checker.add(a));
    try {
      run.result = await during({ net, stream });
    } catch (e) {
      failed(e);
    }
    await stream.stop();
    const receipts = await checker.settle(SETTLE_MS);
    run.accounting = await account(net, stream, receipts, { funds: FUNDS, setupSequence });
  } catch (e) {
    failed(e);
  } finally {
    await stream?.stop();
    await net?.stop();
  }
  return run;
}
