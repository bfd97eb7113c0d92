// A node process killed (SIGKILL, with its enclave) in the middle of a stream of transfers: started
// again on its data directory, it catches up, and no command it acknowledged is lost or applied twice.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { waitForSameSequence } from "../support/group.js";
import { issueToken, newAccount } from "../support/token.js";
import { until } from "../support/wait.js";
import { type OperatorNet, startOperatorNet } from "./operator-net.js";

/** Transfers acknowledged (202) before the crash: enough that some are queued, some in flight. */
const ACKNOWLEDGED_BEFORE_CRASH = 12;
const FUNDS = 1_000n;

describe("a node process crashes mid-stream", () => {
  let net: OperatorNet;
  before(async () => {
    net = await startOperatorNet(2);
  });
  after(() => net?.stop());

  test("restarted on its data directory, it catches up; acknowledged commands apply exactly once", async () => {
    const token = await issueToken(net, 0);
    const sender = await token.fundedAccount(FUNDS);
    const recipient = newAccount();
    const victim = 1;
    const client = await net.client(sender, victim);
    const acknowledged: { id: Hex; responseKey: Uint8Array }[] = [];
    let attempted = 0;
    const stream = (async () => {
      for (;;) {
        attempted++;
        try {
          acknowledged.push(await client.send("transfer", { to: recipient.address, amount: "1" }));
        } catch {
          return; // the node died under this request (or before it): unknown whether it was accepted
        }
      }
    })();
    await until("transfers to be acknowledged", () =>
      acknowledged.length >= ACKNOWLEDGED_BEFORE_CRASH ? true : undefined,
    );
    await net.nodes[victim]!.process.kill();
    await stream;
    const acked = acknowledged.length;

    await net.restart(victim);
    const again = await net.client(sender, victim);
    const sequences = new Set<bigint>();
    for (const { id, responseKey } of acknowledged) {
      const receipt = await again.waitForReceipt(id, responseKey);
      assert.equal(receipt.status, "applied", `acknowledged command ${id}`);
      sequences.add(receipt.sequence);
    }
    assert.equal(sequences.size, acked, "each acknowledged command has a sequence of its own");
    await waitForSameSequence(net.running());

    // Each applied transfer moved 1 and used one of the sender's nonces: none was applied twice,
    // and at most the one request cut by the crash was applied besides the acknowledged ones.
    const received = (await (await net.client(recipient, 0)).query("balanceOf", {})) as bigint;
    assert.ok(
      received >= BigInt(acked) && received <= BigInt(attempted),
      `${received} of ${acked}..${attempted}`,
    );
    for (const index of [0, victim]) {
      const view = await net.client(sender, index);
      assert.equal(await view.nextNonce(), received, `the sender's nonce at node ${index + 1}`);
      assert.equal(
        await view.query("balanceOf", {}),
        FUNDS - received,
        `the sender's balance at node ${index + 1}`,
      );
    }
    // The restarted node serves again.
    const more = await again.call("transfer", { to: recipient.address, amount: "1" });
    assert.equal(more.status, "applied");
  });
});
