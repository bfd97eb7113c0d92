// Providers cap eth_getLogs (a block range, a result count) and refuse a larger query with a
// JSON-RPC error, each with its own code. The follower halves its page on such a refusal, so it
// reads the same events, in order, through a capped endpoint.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, http, numberToHex } from "viem";
import { type Anvil, startAnvil } from "../../src/chain/anvil.js";
import { connectLedger, deployAnonify, type LedgerWallet, withWallet } from "../../src/chain/chain.js";
import { type AnonifyEvent, EventFollower } from "../../src/chain/follower.js";
import { anvilKey, ownerCall } from "../support/chain.js";
import { type RpcRecorder, startRpcRecorder } from "../support/rpc-recorder.js";
import { until } from "../support/wait.js";

const EVENTS = 24;
/** The capped endpoint's largest range, in blocks. */
const CAP = 5n;
/** What providers answer over their cap: LimitExceeded, and a code viem does not name. */
const REFUSALS = [
  { code: -32005, message: `query exceeds max block range ${CAP}` },
  { code: -32602, message: "Log response size exceeded" },
];

const span = (params: unknown): bigint => {
  const [filter] = params as [{ fromBlock: string; toBlock: string }];
  return BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n;
};

describe("event follower behind an endpoint that caps eth_getLogs", () => {
  let anvil: Anvil;
  let owner: LedgerWallet;
  let contract: `0x${string}`;

  before(async () => {
    anvil = await startAnvil();
    owner = withWallet(await connectLedger(anvil.rpcUrl), anvilKey(0));
    contract = await deployAnonify(owner);
    // One event per block (auto-mine), numbered.
    for (let i = 0; i < EVENTS; i++)
      await ownerCall({ owner, contract }, "setMeasurementAllowed", [numberToHex(i, { size: 32 }), true]);
  });
  after(() => anvil?.stop());

  for (const refusal of REFUSALS) {
    test(`refused with ${refusal.code}: every event once, in order, in pages under the cap`, async () => {
      let capped: RpcRecorder | undefined;
      let follower: EventFollower | undefined;
      try {
        capped = await startRpcRecorder(anvil.rpcUrl, (call) =>
          call.method === "eth_getLogs" && span(call.params) > CAP ? refusal : undefined,
        );
        const seen: number[] = [];
        follower = new EventFollower({
          publicClient: createPublicClient({ chain: owner.chain, transport: http(capped.url) }),
          contract,
          fromBlock: 0n,
          onEvents: (events: AnonifyEvent[]) => {
            for (const e of events)
              if (e.eventName === "MeasurementAllowed") seen.push(Number(BigInt(e.args.measurement)));
          },
        });
        follower.start();
        await until("every event", () => (seen.length >= EVENTS ? true : undefined));
        assert.deepEqual(
          seen,
          Array.from({ length: EVENTS }, (_, i) => i),
        );
        const ranges = capped.calls.filter((c) => c.method === "eth_getLogs").map((c) => span(c.params));
        assert.ok(
          ranges.some((r) => r > CAP),
          "the first page was over the cap",
        );
        // Halving goes once below the cap and stays there: no refusal after the first answered page.
        const firstAnswered = ranges.findIndex((r) => r <= CAP);
        assert.ok(ranges.slice(firstAnswered).every((r) => r <= CAP));
      } finally {
        await follower?.stop();
        await capped?.close();
      }
    });
  }
});
