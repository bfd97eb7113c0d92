// An enclave process killed (SIGKILL) under a stream of transfers: its host restarts it, restores
// it from what it kept sealed and reads the chain again from there. Meanwhile the node says so
// (503 `enclave_restarting`, readiness), logs the crash once, and no acknowledged command is lost
// or applied twice.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitForSameSequence } from "../support/group.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount } from "../support/token.js";
import { startTransferStream } from "../support/transfer-stream.js";
import { until } from "../support/wait.js";

const FUNDS = 1_000n;
/** Transfers acknowledged before the kill, and again after the restart. */
const ACKNOWLEDGED_EACH_SIDE = 8;

describe("an enclave process crashes under load", () => {
  let tn: TestNet;
  before(async () => {
    tn = await startTestNet(2);
  });
  after(() => tn?.stop());

  test("its host brings it back; meanwhile 503 enclave_restarting; acknowledged commands apply once", async () => {
    const token = await issueToken(tn, 0);
    const sender = await token.fundedAccount(FUNDS);
    const recipient = newAccount();
    const victim = 1;
    const client = await tn.client(sender, victim);
    const node = () => tn.running()[victim]!;
    const url = tn.net.nodes[victim]!.url;

    const stream = startTransferStream(client, recipient.address, url);
    const { acknowledged } = stream;
    await until("transfers acknowledged before the kill", () =>
      acknowledged.length >= ACKNOWLEDGED_EACH_SIDE ? true : undefined,
    );

    // Readiness, polled back to back from the kill until the node serves again.
    const states = new Set<string>();
    const pid = node().enclave.pid!;
    process.kill(pid, "SIGKILL");
    await until("the node to be ready again after the kill", async () => {
      const answer = (await (await fetch(new URL("/v1/ready", url))).json()) as { state: string };
      states.add(answer.state);
      return answer.state === "ready" && node().enclave.pid !== pid ? true : undefined;
    });
    assert.ok(states.has("enclave_restarting"), `readiness while replaced: ${[...states].join(", ")}`);
    const status = await fetch(new URL("/v1/status", url));
    assert.equal(status.status, 200, "status answers again");

    const before = acknowledged.length;
    await until("transfers acknowledged after the restart", () =>
      acknowledged.length >= before + ACKNOWLEDGED_EACH_SIDE ? true : undefined,
    );
    await stream.stop();

    const sequences = new Set<bigint>();
    for (const { id, responseKey } of acknowledged) {
      const receipt = await client.waitForReceipt(id, responseKey);
      assert.equal(receipt.status, "applied", `acknowledged command ${id}`);
      sequences.add(receipt.sequence);
    }
    assert.equal(sequences.size, acknowledged.length, "each acknowledged command has a sequence of its own");
    await waitForSameSequence(tn.running());
    // Each transfer moved 1: none applied twice, none lost (a request cut by the kill may count once).
    const received = (await (await tn.client(recipient, 0)).query("balanceOf", {})) as bigint;
    assert.ok(
      received >= BigInt(acknowledged.length) && received <= BigInt(stream.attempted()),
      `${received} of ${acknowledged.length}..${stream.attempted()}`,
    );
    for (const index of [0, victim])
      assert.equal(await (await tn.client(sender, index)).query("balanceOf", {}), FUNDS - received);

    // One line for the crash and one for the recovery, not one per tick or poll.
    const exits = tn.logs.filter((l) => /enclave process exited; restarting it/.test(l));
    const restored = tn.logs.filter((l) => /enclave restored/.test(l));
    assert.equal(exits.length, 1, exits.join("\n"));
    assert.equal(restored.length, 1, restored.join("\n"));
    assert.ok(tn.logs.length < 200, `${tn.logs.length} log lines`);
  });
});
