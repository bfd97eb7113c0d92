// Chain reorganisations of depth 1 to 5 under a stream of transfers through two nodes, with and
// without the dropped transactions mined again (`anvil_reorg`), then one from below a rotation's
// commit, mined again: every node rolls back to a checkpoint before the fork, replays the canonical
// events and sends again its batches the chain lost. At the end the nodes agree with each other and with the chain, and every acknowledged
// transfer applied exactly once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, http } from "viem";
import { waitForSameSequence } from "../support/group.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { reorganise } from "../support/reorg.js";
import { issueToken, newAccount } from "../support/token.js";
import { startTransferStream } from "../support/transfer-stream.js";
import { until } from "../support/wait.js";
import { printingWarnings } from "../support/warnings.js";

const FUNDS = 10_000n;
/** Depth of each reorganisation, and whether the dropped transactions are mined again. */
const REORGS: readonly [depth: number, reinclude: boolean][] = [
  [1, false],
  [2, true],
  [3, false],
  [4, true],
  [5, false],
];
/** How far below the block of its own commit a reorganisation reaches (it was made a block or two before). */
const BELOW_OWN_COMMIT = 3;
/** Commands the nodes apply between two reorganisations (so each one drops batches). */
const APPLIED_BETWEEN = 6n;

describe("chain reorganisations under load", () => {
  let tn: TestNet;
  before(async () => {
    tn = await startTestNet(2);
  });
  after(() => tn?.stop());

  test(
    "depth 1 to 5, with and without re-inclusion: nodes roll back, resend, and end equal",
    printingWarnings(
      () => tn?.logs,
      async () => {
        const token = await issueToken(tn, 0);
        const senders = [await token.fundedAccount(FUNDS), await token.fundedAccount(FUNDS)];
        const recipient = newAccount();
        const streams = await Promise.all(
          senders.map(async (sender, i) =>
            startTransferStream(await tn.client(sender, i), recipient.address, tn.net.nodes[i]!.url),
          ),
        );
        // Node 1's applied sequence, once its enclave answers (it is replaced during a rollback).
        const sequence = () =>
          until("node 1's sequence", () =>
            tn
              .running()[0]!
              .groupStatus()
              .then(
                (s) => BigInt(s.ledger.sequence),
                () => undefined,
              ),
          );
        const rollbacks = (node: string) =>
          tn.logs.filter((l) => l.includes(`"node":"${node}"`) && /chain reorganised; rolling back/.test(l))
            .length;

        for (const [depth, reinclude] of REORGS) {
          const from = await sequence();
          await until(
            `${APPLIED_BETWEEN} more commands applied before the depth-${depth} reorganisation`,
            async () => ((await sequence()) >= from + APPLIED_BETWEEN ? true : undefined),
          );
          await reorganise(tn.net.rpcUrl, depth, reinclude);
        }
        // A rotation, then a reorganisation from below the block node 1 made its commit at, mined again:
        // node 1 rolls back past its own commit, which MLS cannot open, and must adopt it again.
        const group = () =>
          tn
            .running()[0]!
            .groupStatus()
            .then(
              (s) => s.group,
              () => undefined,
            );
        const slotBefore = (await until("node 1's group", group)).slot;
        tn.running()[0]!.requestRotation();
        let seen: unknown;
        const rotation = await until("node 1's rotation ordered", async () => {
          seen = await group();
          const last = (seen as Awaited<ReturnType<typeof group>>)?.lastHandshake;
          return last && last.slot === slotBefore && last.outcome === "applied (own commit)"
            ? last
            : undefined;
        }).catch((error: Error) => {
          throw new Error(`${error.message}; node 1's group: ${JSON.stringify(seen)}`);
        });
        const head = await createPublicClient({ transport: http(tn.net.rpcUrl) }).getBlockNumber({
          cacheTime: 0,
        });
        await reorganise(tn.net.rpcUrl, Number(head - BigInt(rotation.block)) + BELOW_OWN_COMMIT, true);

        const from = await sequence();
        await until("commands applied after the last reorganisation", async () =>
          (await sequence()) >= from + APPLIED_BETWEEN ? true : undefined,
        );
        await Promise.all(streams.map((s) => s.stop()));
        // A node rolls back only when a block it had read is gone: one still catching up after a
        // rollback may not have read the blocks the next reorganisation replaces.
        for (const node of ["node-1", "node-2"]) assert.ok(rollbacks(node) >= 1, `${node} never rolled back`);

        // Every acknowledged transfer has a receipt the chain backs (the client checks its batch on
        // chain), at a sequence of its own.
        const sequences = new Set<bigint>();
        let acknowledged = 0;
        for (const [i, stream] of streams.entries()) {
          const client = await tn.client(senders[i]!, i);
          for (const { id, responseKey } of stream.acknowledged) {
            const receipt = await client.waitForReceipt(id, responseKey);
            assert.equal(
              receipt.status,
              "applied",
              `acknowledged command ${id}: ${JSON.stringify(receipt, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`,
            );
            sequences.add(receipt.sequence);
          }
          acknowledged += stream.acknowledged.length;
        }
        assert.equal(sequences.size, acknowledged, "each acknowledged command applied once");
        await waitForSameSequence(tn.running());
        // One group: both nodes on the same epoch key (a node that lost the group skips the other's batches).
        const groups = await Promise.all(tn.running().map((n) => n.groupStatus()));
        assert.equal(
          new Set(groups.map((g) => g.group.epochKeyFingerprint)).size,
          1,
          `epoch keys differ: ${JSON.stringify(groups.map((g) => ({ group: g.group, ledger: g.ledger })))}`,
        );

        // The same balances at both nodes: each transfer moved 1 and was applied once.
        for (const index of [0, 1]) {
          const received = (await (await tn.client(recipient, index)).query("balanceOf", {})) as bigint;
          assert.equal(received, BigInt(acknowledged), `the recipient's balance at node ${index + 1}`);
          for (const [i, sender] of senders.entries()) {
            const sent = BigInt(streams[i]!.acknowledged.length);
            assert.equal(await (await tn.client(sender, index)).query("balanceOf", {}), FUNDS - sent);
          }
        }
      },
    ),
  );
});
