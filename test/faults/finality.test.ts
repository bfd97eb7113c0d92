// A command's status says `applied` once ordered and `final` once its batch is buried under the
// node's finality depth (0 on the devnet; here a node set to 3): `?wait&until=final` answers then.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount } from "../support/token.js";

const FINALITY_DEPTH = 3n;
const WAIT_MS = 20_000;

type Status = { id: Hex; status: string; block?: string; final?: boolean };

describe("final after the node's finality depth", () => {
  let tn: TestNet;
  before(async () => {
    tn = await startTestNet(2);
  });
  after(() => tn?.stop());

  const status = async (index: number, id: Hex, query = ""): Promise<Status> => {
    const res = await fetch(new URL(`/v1/commands/${id}${query}`, tn.net.nodes[index]!.url));
    assert.equal(res.status, 200);
    return (await res.json()) as Status;
  };

  test("depth 0 on the devnet: final as soon as applied; depth 3: final after three more blocks, and a wait for it", async () => {
    const token = await issueToken(tn, 0);
    const sender = await token.fundedAccount(10n);
    const to = newAccount().address;

    const devnet = await (await tn.client(sender, 0)).call("transfer", { to, amount: "1" });
    const atDevnet = await status(0, devnet.command);
    assert.equal(atDevnet.status, "ordered", "in clear, only that it was ordered (its receipt says how)");
    assert.equal(atDevnet.block, devnet.batch?.block.toString());
    assert.equal(atDevnet.final, true);

    await tn.restart(1, undefined, { finalityDepth: FINALITY_DEPTH });
    const receipt = await (await tn.client(sender, 1)).call("transfer", { to, amount: "1" });
    const block = receipt.batch!.block;
    const chain = tn.running()[1]!;
    const head = await chain.chainHead();
    const now = await status(1, receipt.command);
    assert.equal(now.status, "ordered");
    // Not final while fewer than three blocks follow its batch (none are mined but on demand here).
    assert.equal(now.final, head >= block + FINALITY_DEPTH, `block ${block}, head ${head}`);

    const waiting = status(1, receipt.command, `?wait=${WAIT_MS}&until=final`);
    await fetch(tn.net.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x3"] }),
    });
    const final = await waiting;
    assert.equal(final.final, true);
    assert.ok((await chain.chainHead()) >= block + FINALITY_DEPTH);
  });
});
