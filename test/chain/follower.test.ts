import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Address, type Hex, numberToHex } from "viem";
import { startAnvil } from "../../src/chain/anvil.js";
import {
  connectLedger,
  deployAnonify,
  type Ledger,
  type LedgerWallet,
  withWallet,
} from "../../src/chain/chain.js";
import { type AnonifyEvent, EventFollower, type FollowerStatus } from "../../src/chain/follower.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { anvilKey } from "../support/chain.js";
import { until } from "../support/wait.js";

const EVENTS = 1000;

/** Emits one MeasurementAllowed event per call, numbered, without waiting for each receipt. */
async function emitNumbered(
  wallet: LedgerWallet,
  contract: `0x${string}`,
  from: number,
  to: number,
): Promise<void> {
  let nonce = await wallet.publicClient.getTransactionCount({
    address: wallet.account.address,
    blockTag: "pending",
  });
  let last: Hex | undefined;
  for (let i = from; i < to; i++) {
    last = await wallet.walletClient.writeContract({
      address: contract,
      abi: anonifyAbi,
      functionName: "setMeasurementAllowed",
      args: [numberToHex(i, { size: 32 }), true],
      nonce: nonce++,
      gas: 100_000n,
    });
  }
  if (last) await wallet.publicClient.waitForTransactionReceipt({ hash: last });
}

function numberOf(event: AnonifyEvent): number | undefined {
  return event.eventName === "MeasurementAllowed" ? Number(BigInt(event.args.measurement)) : undefined;
}

describe("event follower", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-follower-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a restart in the middle of 1,000 events delivers each exactly once, in order", async () => {
    const anvil = await startAnvil();
    try {
      const ledger = await connectLedger(anvil.rpcUrl);
      const wallet = withWallet(ledger, anvilKey(0));
      const contract = await deployAnonify(wallet);
      await emitNumbered(wallet, contract, 0, EVENTS);

      const seen: number[] = [];
      const cursorPath = join(dir, "restart-cursor.json");
      const make = () =>
        new EventFollower({
          publicClient: ledger.publicClient,
          contract,
          fromBlock: 0n,
          pageBlocks: 97n, // an odd page size, so pages end in the middle of the stream
          cursorPath,
          onEvents: (events) => {
            for (const e of events) {
              const n = numberOf(e);
              if (n !== undefined) seen.push(n);
            }
          },
        });
      const first = make();
      first.start();
      await until("events", () => seen.length >= 400 || undefined);
      await first.stop();
      assert.ok(seen.length < EVENTS, "the first follower stopped in the middle");

      const second = make();
      second.start();
      await until("events", () => seen.length >= EVENTS || undefined);
      await second.stop();
      assert.deepEqual(
        seen,
        Array.from({ length: EVENTS }, (_, i) => i),
      );
    } finally {
      await anvil.stop();
    }
  });

  describe("an RPC outage in the middle", () => {
    const dataDir = join(dir, "chain");
    let port: number;
    before(async () => {
      const anvil = await startAnvil({ dataDir });
      port = anvil.port;
      await anvil.stop();
    });

    test("is reported, then the follower resumes and loses nothing", async () => {
      let anvil = await startAnvil({ dataDir, port });
      const ledger = await connectLedger(anvil.rpcUrl);
      const wallet = withWallet(ledger, anvilKey(0));
      const contract = await deployAnonify(wallet);
      await emitNumbered(wallet, contract, 0, 100);

      const seen: number[] = [];
      const statuses: FollowerStatus["kind"][] = [];
      const follower = new EventFollower({
        publicClient: ledger.publicClient,
        contract,
        fromBlock: 0n,
        pollMs: 50,
        cursorPath: join(dir, "outage-cursor.json"),
        onEvents: (events) => {
          for (const e of events) {
            const n = numberOf(e);
            if (n !== undefined) seen.push(n);
          }
        },
        onStatus: (s) => statuses.push(s.kind),
      });
      follower.start();
      try {
        await until("events", () => seen.length >= 100 || undefined);
        await anvil.stop(); // Anvil dumps its state on the way out
        await until("events", () => statuses.includes("outage") || undefined);
        anvil = await startAnvil({ dataDir, port });
        await emitNumbered(wallet, contract, 100, 200);
        await until("events", () => seen.length >= 200 || undefined);
        assert.ok(statuses.includes("resumed"), "the follower said it resumed");
        assert.deepEqual(
          seen,
          Array.from({ length: 200 }, (_, i) => i),
        );
      } finally {
        await follower.stop();
        await anvil.stop();
      }
    });
  });
});

/** A fresh Anvil with the contract deployed, stopped after `run`. */
async function onFreshChain(
  run: (chain: {
    ledger: Ledger;
    wallet: LedgerWallet;
    contract: Address;
    fromBlock: bigint;
  }) => Promise<void>,
): Promise<void> {
  const anvil = await startAnvil();
  try {
    const ledger = await connectLedger(anvil.rpcUrl);
    const wallet = withWallet(ledger, anvilKey(0));
    const contract = await deployAnonify(wallet);
    await run({
      ledger,
      wallet,
      contract,
      fromBlock: await ledger.publicClient.getBlockNumber({ cacheTime: 0 }),
    });
  } finally {
    await anvil.stop();
  }
}

describe("a reorganisation under the follower", () => {
  test("is reported with the newest block read that the chain still holds; without a handler the events are read again", async () => {
    await onFreshChain(async ({ ledger, wallet, contract, fromBlock }) => {
      const reorgs: (bigint | undefined)[] = [];
      const delivered: number[] = [];
      const follow = (onReorg?: (ancestor: bigint | undefined) => void) =>
        new EventFollower({
          publicClient: ledger.publicClient,
          contract,
          fromBlock,
          pollMs: 10,
          onEvents: (events) => {
            for (const e of events) delivered.push(numberOf(e)!);
          },
          onReorg,
        });
      const reporting = follow((ancestor) => reorgs.push(ancestor));
      const rereading = follow();
      reporting.start();
      rereading.start();
      for (let i = 0; i < 3; i++) {
        await emitNumbered(wallet, contract, i, i + 1); // one block each
        await until(`event ${i} read twice`, () =>
          delivered.filter((n) => n === i).length === 2 ? true : undefined,
        );
      }
      const head = await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
      // The last two blocks (events 1 and 2) are replaced by empty ones; then event 7 lands.
      await ledger.publicClient.request({ method: "anvil_reorg" as never, params: [2, []] as never });
      await emitNumbered(wallet, contract, 7, 8);
      await until("the reorganisation reported", () => (reorgs.length > 0 ? true : undefined));
      assert.deepEqual(reorgs, [head - 2n]);
      await until("event 7 read by the follower without a handler", () =>
        delivered.includes(7) ? true : undefined,
      );
      assert.equal(delivered.filter((n) => n === 7).length, 1, "the reporting follower stopped");
      await reporting.stop();
      await rereading.stop();
    });
  });

  test("read in one poll over many blocks, is located at the block of the last event it voids", async () => {
    await onFreshChain(async ({ ledger, wallet, contract, fromBlock }) => {
      for (let i = 0; i < 6; i++) await emitNumbered(wallet, contract, i, i + 1); // one block each
      const head = await ledger.publicClient.getBlockNumber({ cacheTime: 0 });
      const reorgs: (bigint | undefined)[] = [];
      let read = 0;
      const follower = new EventFollower({
        publicClient: ledger.publicClient,
        contract,
        fromBlock,
        pollMs: 10,
        onEvents: (events) => {
          read += events.filter((e) => numberOf(e) !== undefined).length;
        },
        onReorg: (ancestor) => reorgs.push(ancestor),
      });
      follower.start(); // its first poll reads all six blocks
      await until("the six events read", () => (read === 6 ? true : undefined));
      await ledger.publicClient.request({ method: "anvil_reorg" as never, params: [2, []] as never });
      await until("the reorganisation reported", () => (reorgs.length > 0 ? true : undefined));
      // Not the block before the poll's first: the blocks of the events read are tracked too.
      assert.deepEqual(reorgs, [head - 2n]);
      await follower.stop();
    });
  });
});
