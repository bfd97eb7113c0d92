// The chain process killed (SIGKILL) under two streams of transfers and started again from its
// state file: it comes back seconds behind (Anvil writes the file every few seconds), so the blocks
// since are gone. To the nodes that is an outage, then a reorganisation: they roll back, send their
// lost batches again, and end equal, with every acknowledged transfer applied exactly once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Anvil, freePort, startAnvil } from "../../src/chain/anvil.js";
import { type ChainNet, startNodesOn } from "../support/external-chain.js";
import { waitForSameSequence } from "../support/group.js";
import { issueToken, newAccount } from "../support/token.js";
import { startTransferStream } from "../support/transfer-stream.js";
import { until } from "../support/wait.js";
import { printingWarnings } from "../support/warnings.js";

const FUNDS = 10_000n;
/** Transfers acknowledged before the kill, and again after the chain is back. */
const ACKNOWLEDGED_EACH_SIDE = 10;
/** Waits that span Anvil's state-file interval and its restart (the chain's own pace, not a sleep). */
const CHAIN_WAIT_MS = 90_000;

describe("the chain process crashes under load", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-chain-crash-"));
  let anvil: Anvil;
  let port: number;
  let net: ChainNet;
  before(async () => {
    port = await freePort();
    anvil = await startAnvil({ dataDir: dir, port });
    net = await startNodesOn(anvil.rpcUrl, 2);
  });
  after(async () => {
    await net?.stop();
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "started again from its state file, behind: the nodes roll back, resend, and end equal",
    printingWarnings(
      () => net?.logs,
      async () => {
        const token = await issueToken(net, 0);
        const senders = [await token.fundedAccount(FUNDS), await token.fundedAccount(FUNDS)];
        const recipient = newAccount();
        // The funding in the state file before the transfers start: what the crash loses are transfers
        // that depend only on their own sender's earlier ones (as after any reorganisation, a command that
        // depends on another sender's may land before it, and fail).
        const statePath = anvil.statePath!;
        const funded = Date.now();
        await until(
          "Anvil to write its state file after the funding",
          () => (statSync(statePath, { throwIfNoEntry: false })?.mtimeMs ?? 0) > funded || undefined,
          CHAIN_WAIT_MS,
        );
        const streams = await Promise.all(
          senders.map(async (sender, i) =>
            startTransferStream(await net.client(sender, i), recipient.address, net.nodes[i]!.url),
          ),
        );
        const acknowledged = () => streams.reduce((n, s) => n + s.acknowledged.length, 0);
        await until("transfers acknowledged before the kill", () =>
          acknowledged() >= ACKNOWLEDGED_EACH_SIDE ? true : undefined,
        );

        process.kill(anvil.pid!, "SIGKILL");
        await until("the nodes to notice the chain is gone", () =>
          net.logs.some((l) => /chain sync failing/.test(l)) ? true : undefined,
        );
        anvil = await startAnvil({ dataDir: dir, port });
        const back = acknowledged();
        await until(
          "transfers acknowledged after the chain is back",
          () => (acknowledged() >= back + ACKNOWLEDGED_EACH_SIDE ? true : undefined),
          CHAIN_WAIT_MS,
        );
        // Commands are acknowledged before they are ordered, so those after the restart can come before
        // a node has noticed the lost blocks: wait until each node that rolled back is restored again.
        const lastIndex = (node: string, what: string) =>
          net.logs.findLastIndex((l) => l.includes(`"node":"${node}"`) && l.includes(what));
        const restoredIfRolledBack = (node: string) => {
          const rolledBack = lastIndex(node, "chain reorganised; rolling back");
          return rolledBack < 0 || lastIndex(node, "enclave restored") > rolledBack;
        };
        await until(
          "the lost blocks noticed, and every node that rolled back restored",
          () =>
            net.logs.some((l) => /chain reorganised; rolling back/.test(l)) &&
            ["node-1", "node-2"].every(restoredIfRolledBack)
              ? true
              : undefined,
          CHAIN_WAIT_MS,
        );
        await Promise.all(streams.map((s) => s.stop()));

        const sequences = new Set<bigint>();
        for (const [i, stream] of streams.entries()) {
          const client = await net.client(senders[i]!, i);
          for (const { id, responseKey } of stream.acknowledged) {
            const receipt = await client.waitForReceipt(id, responseKey);
            assert.equal(receipt.status, "applied", `acknowledged command ${id}: ${receipt.reason ?? ""}`);
            sequences.add(receipt.sequence);
          }
        }
        assert.equal(sequences.size, acknowledged(), "each acknowledged command applied once");
        await waitForSameSequence(net.running());
        for (const index of [0, 1]) {
          const received = (await (await net.client(recipient, index)).query("balanceOf", {})) as bigint;
          assert.equal(received, BigInt(acknowledged()), `the recipient's balance at node ${index + 1}`);
        }
      },
    ),
  );
});
