// A node process killed (SIGKILL, with its enclave) while many senders submit at once, so the host
// is writing accepted commands' journal records in groups (one write per tick, sealed-store.ts):
// started again on its data directory, every command it acknowledged applies exactly once, and of
// the others at most the one request each sender had in flight.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { waitForSameSequence } from "../support/group.js";
import { issueToken, newAccount } from "../support/token.js";
import { until } from "../support/wait.js";
import { type OperatorNet, startOperatorNet } from "./operator-net.js";

/** Senders submitting side by side: their accepts share journal writes. */
const SENDERS = 8;
/** Transfers acknowledged (202) before the crash, over all senders. */
const ACKNOWLEDGED_BEFORE_CRASH = 24;
const FUNDS = 1_000n;

type Stream = {
  acknowledged: { id: Hex; responseKey: Uint8Array }[];
  attempted: number;
  done: Promise<void>;
};

describe("a node process crashes while its host writes journal records in groups", () => {
  let net: OperatorNet;
  before(async () => {
    net = await startOperatorNet(2);
  });
  after(() => net?.stop());

  test("restarted, each acknowledged command applies once; none beyond the requests in flight", async () => {
    const token = await issueToken(net, 0);
    const senders: LocalAccount[] = [];
    for (let i = 0; i < SENDERS; i++) senders.push(await token.fundedAccount(FUNDS));
    const recipient = newAccount();
    const victim = 1;
    const streams: Stream[] = await Promise.all(
      senders.map(async (sender) => {
        const client = await net.client(sender, victim);
        const stream: Stream = { acknowledged: [], attempted: 0, done: Promise.resolve() };
        stream.done = (async () => {
          for (;;) {
            stream.attempted++;
            try {
              stream.acknowledged.push(await client.send("transfer", { to: recipient.address, amount: "1" }));
            } catch {
              return; // the node died under this request (or before it): unknown whether it was accepted
            }
          }
        })();
        return stream;
      }),
    );
    const acknowledgedSoFar = () => streams.reduce((n, s) => n + s.acknowledged.length, 0);
    await until("transfers to be acknowledged", () =>
      acknowledgedSoFar() >= ACKNOWLEDGED_BEFORE_CRASH ? true : undefined,
    );
    await net.nodes[victim]!.process.kill();
    await Promise.all(streams.map((s) => s.done));

    await net.restart(victim);
    const sequences = new Set<bigint>();
    let received = 0n;
    for (const [i, sender] of senders.entries()) {
      const { acknowledged, attempted } = streams[i]!;
      const again = await net.client(sender, victim);
      for (const { id, responseKey } of acknowledged) {
        const receipt = await again.waitForReceipt(id, responseKey);
        assert.equal(receipt.status, "applied", `acknowledged command ${id}`);
        sequences.add(receipt.sequence);
      }
      // Each applied transfer used one of the sender's nonces: none applied twice, and besides the
      // acknowledged ones at most the request the crash cut.
      await waitForSameSequence(net.running());
      const applied = await again.nextNonce();
      assert.ok(
        applied >= BigInt(acknowledged.length) && applied <= BigInt(attempted),
        `sender ${i}: ${applied} applied of ${acknowledged.length}..${attempted}`,
      );
      for (const index of [0, victim]) {
        const view = await net.client(sender, index);
        assert.equal(await view.nextNonce(), applied, `sender ${i}'s nonce at node ${index + 1}`);
        assert.equal(await view.query("balanceOf", {}), FUNDS - applied, `sender ${i} at node ${index + 1}`);
      }
      received += applied;
    }
    assert.equal(sequences.size, acknowledgedSoFar(), "each acknowledged command has a sequence of its own");
    const balance = (await (await net.client(recipient, 0)).query("balanceOf", {})) as bigint;
    assert.equal(balance, received, "the recipient holds exactly what the senders' nonces say they sent");
  });
});
