// The e2e bench's bid stream (e2e.bench.ts): on a network of the auction app (apps/auction, the erc20
// token embedded, its `transfer` unchanged), some senders bid on a few open auctions while the others
// keep transferring. Each bid replaces the sender's previous one with one more token, so every bid
// applies (and moves one token into escrow, by the token's own rule).
import { type Hex, hexToBytes } from "viem";
import type { AnonifyClient } from "../src/client/anonify-client.js";
import { openReceipt, sealCommand, signCommand } from "../src/client/command.js";
import { encodeSignedCommand } from "../src/protocol/wire.js";

/** Auctions the bidders share (bidder i bids on auction i mod AUCTIONS): a few, as a busy market has. */
export const AUCTIONS = 4;
/** How long a sender's post asks the node to hold the answer for the receipt. */
const RECEIPT_WAIT_MS = 10_000;

export const auctionId = (i: number) => `bench-${i % AUCTIONS}`;

/** What the owner opens before the measured phases: commands and params, in order. */
export const auctionOpenings = () =>
  Array.from({ length: AUCTIONS }, (_, i) => ({ id: auctionId(i), item: `bench lot ${i}` }));

export type Sent = { status: string; sealingMs: number; latencyMs: number; commandBytes: number };

/**
 * One command as a wallet sends it: signed, sealed to the node's enclave, posted, and its receipt
 * waited for (the node answers once the command is ordered).
 */
export async function sendAndWait(
  client: AnonifyClient,
  enclaveKey: Hex,
  command: string,
  params: Record<string, unknown>,
  nonce: bigint,
): Promise<Sent> {
  const t0 = performance.now();
  const signed = await signCommand(client.options.account, client.domain, {
    app: client.app,
    command,
    params,
    nonce,
  });
  const envelope = await sealCommand(signed.signed, enclaveKey);
  const submitted = performance.now();
  const res = await fetch(new URL(`/v1/commands?wait=${RECEIPT_WAIT_MS}`, client.options.node), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ envelope: `0x${Buffer.from(envelope).toString("hex")}` }),
  });
  if (res.status !== 200 && res.status !== 202) throw new Error(`command refused: ${await res.text()}`);
  const answer = (await res.json()) as { receipt?: Hex };
  const receipt = answer.receipt
    ? await openReceipt(signed.responseKey, hexToBytes(answer.receipt), {
        domain: client.domain,
        digest: signed.digest,
      })
    : await client.waitForReceipt(signed.digest, signed.responseKey);
  return {
    status: receipt.status,
    sealingMs: submitted - t0,
    latencyMs: performance.now() - submitted,
    commandBytes: encodeSignedCommand(signed.signed).length,
  };
}

export type BidFigures = {
  bidders: number;
  auctions: number;
  bidsPerSecond: number;
  /** Transfers the other senders completed meanwhile, per second. */
  transfersPerSecondBeside: number;
  bidLatencyMs: { p50: number; p95: number; p99: number };
  /**
   * CPU time per bid, by process: the phase's CPU less its transfers at the transfer-only phase's
   * CPU per transfer, over its bids (bids and transfers share every process, so a bid's own share
   * is what the bids added).
   */
  cpuMsPerBid: Record<string, number>;
  bidBytes: number;
};

type BidPhase = {
  clients: AnonifyClient[];
  /** Each client's node's enclave key, and each client's next nonce (advanced here). */
  enclaveKeys: Hex[];
  nonces: bigint[];
  /** Where sender i transfers to. */
  recipient: (i: number) => Hex;
  bidders: number;
  seconds: number;
  /** A CPU meter started now: `(n) => CPU per n`, by process. */
  startCpu: () => (count: number) => Record<string, number>;
  cpuMsPerTransfer: Record<string, number>;
  percentiles: (samples: number[]) => BidFigures["bidLatencyMs"];
};

/** The first `bidders` senders bid and the others transfer, for `seconds`; counted as they complete. */
export async function bidPhase(p: BidPhase): Promise<BidFigures> {
  const cpu = p.startCpu();
  const deadline = Date.now() + p.seconds * 1000;
  const latencies: number[] = [];
  let bids = 0;
  let transfers = 0;
  let bidBytes = 0;
  await Promise.all(
    p.clients.map(async (client, i) => {
      const bidding = i < p.bidders;
      let amount = 0n;
      while (Date.now() < deadline) {
        amount += 1n;
        const sent = bidding
          ? await sendAndWait(
              client,
              p.enclaveKeys[i]!,
              "bid",
              { id: auctionId(i), amount: `${amount}` },
              p.nonces[i]!,
            )
          : await sendAndWait(
              client,
              p.enclaveKeys[i]!,
              "transfer",
              { to: p.recipient(i), amount: "1" },
              p.nonces[i]!,
            );
        p.nonces[i]! += 1n;
        if (bidding && sent.status !== "applied")
          throw new Error(`bid ${amount} of sender ${i}: ${sent.status}`);
        if (Date.now() > deadline) break;
        if (!bidding) transfers++;
        else {
          bids++;
          bidBytes = sent.commandBytes;
          latencies.push(sent.latencyMs);
        }
      }
    }),
  );
  const totals = cpu(1);
  const cpuMsPerBid = Object.fromEntries(
    Object.entries(totals).map(([k, ms]) => [
      k,
      Math.round((10 * (ms - transfers * (p.cpuMsPerTransfer[k] ?? 0))) / Math.max(1, bids)) / 10,
    ]),
  );
  const perSecond = (n: number) => Math.round((10 * n) / p.seconds) / 10;
  return {
    bidders: p.bidders,
    auctions: Math.min(AUCTIONS, p.bidders),
    bidsPerSecond: perSecond(bids),
    transfersPerSecondBeside: perSecond(transfers),
    bidLatencyMs: p.percentiles(latencies),
    cpuMsPerBid,
    bidBytes,
  };
}
