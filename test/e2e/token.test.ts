import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type LocalAccount, numberToHex } from "viem";
import { connectLedger } from "../../src/chain/chain.js";
import { AnonifyClientError } from "../../src/client/anonify-client.js";
import { sealCommand, signCommand } from "../../src/client/command.js";
import { filesUnder } from "../support/files.js";
import { waitForApplied, waitForSameSequence } from "../support/group.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

// Distinctive amounts, so a scan for their plaintext cannot hit by chance.
// 13 digits or more: the confidentiality test looks for each amount's decimal digits in hex ciphertext
// too, where a 7-digit needle can turn up by chance (one did, in a node's sealed state).
const SUPPLY = 987_654_321_987_654n;
const MINTED = 55_555_555_123_457n;
const TO_BOB = 12_345_678_901_234n;
const ALLOWED = 4_444_444_444_444n;
const SPENT = 3_333_333_333_333n;
const BURNT = 1_212_121_212_121n;

describe("confidential token end to end: 3 nodes, real Anvil, real enclave processes", () => {
  let tn: TestNet;
  let token: Token;
  const client = (account: LocalAccount, node: number, fetch?: typeof globalThis.fetch) =>
    tn.client(account, node, fetch);

  /** Every node has applied at least `sequence` commands. */
  const allApplied = (sequence: bigint) => waitForApplied(tn.running(), sequence);

  const balanceEverywhere = async (account: LocalAccount) =>
    Promise.all([0, 1, 2].map(async (i) => (await client(account, i)).query("balanceOf", {})));

  /**
   * The token's whole life among three fresh accounts: the owner mints SUPPLY to alice and MINTED to
   * carol; alice transfers to bob (at node 0) and approves him (node 1), bob spends from her to carol
   * (node 1), carol burns (node 2). Returns the accounts and the total supply before carol's mint.
   */
  async function tokenLife() {
    const [alice, bob, carol] = [newAccount(), newAccount(), newAccount()];
    await token.fund(alice.address, SUPPLY);
    const supply = (await (await client(carol, 0)).query("totalSupply", {})) as bigint;
    await token.fund(carol.address, MINTED);
    const a1 = await client(alice, 0);
    const sent = await a1.call("transfer", { to: bob.address, amount: Number(TO_BOB) });
    assert.equal(sent.status, "applied");
    // A receipt says its node applied the command; another node may be a block behind, so a sender
    // moving to it waits for it (or keeps its own nonce) before asking it for the next nonce.
    await allApplied(sent.sequence + 1n);
    const a2 = await client(alice, 1);
    assert.equal(
      (await a2.call("approve", { spender: bob.address, amount: ALLOWED.toString() })).status,
      "applied",
    );
    const b2 = await client(bob, 1);
    const spent = await b2.call("transferFrom", {
      from: alice.address,
      to: carol.address,
      amount: SPENT.toString(),
    });
    assert.equal(spent.status, "applied");
    const c3 = await client(carol, 2);
    const burnt = await c3.call("burn", { amount: BURNT.toString() });
    assert.equal(burnt.status, "applied");
    await allApplied(burnt.sequence + 1n);
    return { alice, bob, carol, supply };
  }

  before(async () => {
    tn = await startTestNet(3);
    token = await issueToken(tn);
  });
  after(() => tn?.stop());

  test("the token's whole life; every node answers each owner with the same numbers", async () => {
    const { alice, bob, carol, supply } = await tokenLife();
    assert.deepEqual(await balanceEverywhere(alice), Array(3).fill(SUPPLY - TO_BOB - SPENT));
    assert.deepEqual(await balanceEverywhere(bob), Array(3).fill(TO_BOB));
    assert.deepEqual(await balanceEverywhere(carol), Array(3).fill(MINTED + SPENT - BURNT));
    for (const i of [0, 1, 2]) {
      const c = await client(carol, i);
      assert.equal(await c.query("totalSupply", {}), supply + MINTED - BURNT);
      assert.equal(await c.query("owner", {}), token.owner.toLowerCase());
      const b = await client(bob, i);
      assert.equal(
        await b.query("allowance", { owner: alice.address, spender: bob.address }),
        ALLOWED - SPENT,
      );
    }
    const again = await (await client(alice, 0)).call("construct", { totalSupply: 1 });
    assert.equal(again.status, "failed");
    assert.match(again.reason ?? "", /already constructed/);
  });

  test("rejected with a clear reason and no state change", async () => {
    const [alice, bob, carol] = [await token.fundedAccount(1_000n), newAccount(), newAccount()];
    const a = await client(alice, 0);
    const first = await a.call("transfer", { to: carol.address, amount: 1 });
    assert.equal(first.status, "applied");
    const before = await a.query("balanceOf", {});
    const reject = async (call: Promise<unknown>, code: string | RegExp) => {
      await assert.rejects(call, (e: unknown) => {
        assert.ok(e instanceof AnonifyClientError, String(e));
        if (typeof code === "string") assert.equal(e.code, code, e.message);
        else assert.match(`${e.code}: ${e.message}`, code);
        return true;
      });
    };
    // A bad signature: the envelope is sealed for the enclave but signed over other params.
    const signed = await signCommand(alice, a.domain, {
      app: "erc20",
      command: "transfer",
      params: { to: bob.address, amount: "1" },
      nonce: await a.nextNonce(),
    });
    const forged = {
      ...signed.signed,
      params: JSON.stringify({ amount: "999", to: bob.address.toLowerCase() }),
    };
    const record = await tn.net.nodes[0]!.node.onChainRecord();
    const envelope = await sealCommand(forged as typeof signed.signed, record.hpkePublicKey);
    const res = await fetch(new URL("/v1/commands", tn.net.nodes[0]!.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ envelope: `0x${Buffer.from(envelope).toString("hex")}` }),
    });
    const body = (await res.json()) as { code: string; message: string; sealedReason?: string };
    assert.equal(res.status, 422);
    // Refused after opening: one code for the host, the reason (bad_signature) sealed to the sender.
    assert.equal(body.code, "refused");
    assert.ok(body.sealedReason);

    const used = (await a.nextNonce()) - 1n;
    await reject(a.send("transfer", { to: bob.address, amount: 1 }, used), "replayed_nonce");
    await reject(a.send("transfer", { to: bob.address, amount: 1 }, used + 5n), "nonce_gap");
    await reject(a.send("steal", { from: bob.address }), /unknown command/);
    // The node saw only a code: the reason, which names the command, is sealed to the sender.
    const raw = await signCommand(alice, a.domain, {
      app: "erc20",
      command: "steal",
      params: { from: bob.address },
      nonce: await a.nextNonce(),
    });
    const refused = await fetch(new URL("/v1/commands", tn.net.nodes[0]!.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        envelope: `0x${Buffer.from(await sealCommand(raw.signed, record.hpkePublicKey)).toString("hex")}`,
      }),
    });
    const refusal = await refused.text();
    assert.equal(refused.status, 422);
    assert.ok(
      !refusal.includes("steal") && !refusal.toLowerCase().includes(bob.address.slice(2).toLowerCase()),
    );
    assert.match(refusal, /sealedReason/);
    await reject(a.send("transfer", { to: "not an address", amount: 1 }), /params\.to/);
    await reject(a.send("transfer", { to: bob.address, amount: -1 }), /params\.amount/);

    const tooMuch = await a.call("transfer", {
      to: bob.address,
      amount: ((before as bigint) + 1n).toString(),
    });
    assert.equal(tooMuch.status, "failed");
    assert.match(tooMuch.reason ?? "", /exceeds balance/);
    // What the host holds of a transfer applied and of one failed with its reason: the same status
    // (ordered), the same fields, a sealed receipt of one size. Which failed only its sender reads.
    const inClear = async (id: string) => {
      const res = await fetch(new URL(`/v1/commands/${id}`, tn.net.nodes[0]!.url));
      const {
        id: _id,
        receipt,
        sequence: _s,
        block: _b,
        ...rest
      } = (await res.json()) as Record<string, string>;
      return { fields: rest, receiptLength: receipt?.length };
    };
    const [applied, failed] = [await inClear(first.id), await inClear(tooMuch.id)];
    assert.deepEqual(applied, failed);
    assert.equal(applied.fields.status, "ordered");
    const b = await client(bob, 1);
    const mint = await b.call("mint", { to: bob.address, amount: 1 });
    assert.equal(mint.status, "failed");
    assert.match(mint.reason ?? "", /owner/);
    await reject(b.query("balanceOf", { owner: alice.address }), /params/);
    const c = await client(carol, 2);
    await reject(
      c.query("allowance", { owner: alice.address, spender: bob.address }),
      /owner or the spender/,
    );
    await allApplied(mint.sequence + 1n);
    assert.equal(await a.query("balanceOf", {}), before);
    assert.deepEqual(await balanceEverywhere(bob), Array(3).fill(0n));
  });

  test("a status request with ?wait is answered when the command is ordered, not before", async () => {
    // A sender with no tokens: the transfer is ordered and fails, so no balance changes.
    const dave = await client(newAccount(), 2);
    const url = (id: string, query = "") => new URL(`/v1/commands/${id}${query}`, tn.net.nodes[2]!.url);
    const { id } = await dave.send("transfer", { to: newAccount().address, amount: 1 });
    const waited = fetch(url(id, "?wait=20000"));
    const now = (await (await fetch(url(id))).json()) as { status: string };
    assert.match(now.status, /queued|submitted/, "the command should still wait for ordering here");
    const answer = (await (await waited).json()) as { status: string; receipt?: string };
    assert.equal(answer.status, "ordered", "failed, which only the receipt says");
    assert.match(answer.receipt ?? "", /^0x[0-9a-f]+$/);
    // A wait never delays what is already known, and an unbounded wait is refused.
    assert.equal((await fetch(url(`0x${"11".repeat(32)}`, "?wait=20000"))).status, 404);
    assert.equal((await fetch(url(id, "?wait=3600000"))).status, 400);
  });

  test("a command posted with ?wait is answered with its receipt: one request, no status call, each batch crosses once", async () => {
    const [alice, carol] = [await token.fundedAccount(10n), newAccount()];
    const requests: string[] = [];
    const a = await client(alice, 1, (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      requests.push(`${init?.method ?? "GET"} ${url.pathname}${url.search}`);
      return fetch(input, init);
    });
    const nonce = await a.nextNonce();
    requests.length = 0; // from here on, only the two calls
    // What the node asks its enclave meanwhile, and the batch ciphertexts that come back.
    const enclave = tn.net.nodes[1]!.node.enclave;
    const realCall = enclave.callUnchecked.bind(enclave);
    const calls: string[] = [];
    const ciphertexts: string[] = [];
    enclave.callUnchecked = async (name: string, args: unknown) => {
      calls.push(name);
      const result = await realCall(name, args);
      if (name === "sealBatch")
        for (const b of (result as { batches: { ciphertext?: string }[] }).batches)
          if (b.ciphertext) ciphertexts.push(b.ciphertext);
      return result;
    };
    let receipt: Awaited<ReturnType<typeof a.call>>;
    let next: Awaited<ReturnType<typeof a.call>>;
    try {
      receipt = await a.call("transfer", { to: carol.address, amount: 1 }, nonce);
      // The client counts its nonce from the last command accepted: no nextNonce query.
      next = await a.call("transfer", { to: carol.address, amount: 1 });
    } finally {
      enclave.callUnchecked = realCall;
    }
    assert.equal(receipt.status, "applied");
    assert.equal(next.status, "applied");
    assert.deepEqual(
      requests.filter((r) => r.includes("/v1/")),
      [`POST /v1/commands?wait=10000`, `POST /v1/commands?wait=10000`],
    );
    // The receipts came with the apply's answers; each batch, offered on every tick until it
    // landed, crossed the boundary once.
    assert.ok(calls.includes("applyEvents") && calls.includes("sealBatch"));
    assert.ok(!calls.includes("commandStatus"), `status calls were made: ${calls.join(", ")}`);
    assert.equal(ciphertexts.length, 2);
  });

  test("a client's counted nonce, overtaken by another client of the account, is asked again after the refusal", async () => {
    const [alice, carol] = [await token.fundedAccount(10n), newAccount()];
    const first = await client(alice, 1);
    await first.call("transfer", { to: carol.address, amount: 1 });
    const second = await client(alice, 1);
    await second.call("transfer", { to: carol.address, amount: 1 }); // takes the nonce `first` counted
    await assert.rejects(first.call("transfer", { to: carol.address, amount: 1 }), /replayed_nonce/);
    const after = await first.call("transfer", { to: carol.address, amount: 1 });
    assert.equal(after.status, "applied");
    assert.equal(await first.query("balanceOf", {}), 7n);
  });

  test("a node restarted in the middle of a stream of transfers catches up and loses no accepted command", async () => {
    const transfers = 12;
    const [alice, bob, carol] = [
      await token.fundedAccount(BigInt(transfers)),
      await token.fundedAccount(3n),
      newAccount(),
    ];
    const a = await client(alice, 0);
    const start = (await a.query("balanceOf", {})) as bigint;
    const stopped = tn.net.nodes[1]!;
    const sent: Promise<{ status: string }>[] = [];
    let nonce = await a.nextNonce();
    const transfer = async () => {
      const { id, responseKey } = await a.send("transfer", { to: carol.address, amount: 1 }, nonce++);
      sent.push(a.waitForReceipt(id, responseKey));
    };
    for (let i = 0; i < 5; i++) await transfer();
    // Commands accepted by the node that stops: queued or in flight there when it goes down.
    const b = await client(bob, 1);
    const bobNonce = await b.nextNonce();
    const toRestarted: { id: `0x${string}`; responseKey: Uint8Array }[] = [];
    for (let j = 0n; j < 3n; j++)
      toRestarted.push(await b.send("transfer", { to: carol.address, amount: 1 }, bobNonce + j));
    // The rest of the stream goes on while it is down; then it comes back on its data directory.
    const again = await tn.restart(1, async () => {
      for (let i = 5; i < transfers; i++) await transfer();
    });
    const receipts = await Promise.all(sent);
    assert.ok(receipts.every((r) => r.status === "applied"));
    const atNode0 = await client(bob, 0);
    for (const { id, responseKey } of toRestarted) {
      const receipt = await until(`the restarted node's accepted command ${id} to be applied`, async () => {
        try {
          return (await atNode0.status(id, responseKey)).receipt;
        } catch (error) {
          if (error instanceof AnonifyClientError && error.code === "not_found") return undefined;
          throw error;
        }
      });
      assert.equal(receipt.status, "applied");
    }
    // Nothing more is sent: every node, the restarted one too, comes to the same sequence.
    await waitForSameSequence(tn.running());
    assert.equal(again.address, stopped.address, "it kept its enclave identity");
    assert.equal(await a.query("balanceOf", {}), start - BigInt(transfers));
    assert.equal(await (await client(carol, 1)).query("balanceOf", {}), BigInt(transfers) + 3n);
  });

  test("confidentiality: no amount, address parameter or command name in calldata, logs, host storage or host logs", async () => {
    const { bob, carol } = await tokenLife();
    const publicClient = (await connectLedger(tn.net.rpcUrl)).publicClient;
    const head = await publicClient.getBlockNumber();
    const haystacks: { where: string; text: string }[] = [];
    for (let n = 0n; n <= head; n++) {
      const block = await publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions)
        haystacks.push({ where: `calldata of ${tx.hash}`, text: tx.input.toLowerCase() });
    }
    const events = await publicClient.getLogs({ address: tn.net.contract, fromBlock: 0n });
    for (const log of events)
      haystacks.push({
        where: `log ${log.transactionHash}`,
        text: `${log.data}${log.topics.join("")}`.toLowerCase(),
      });
    for (const file of filesUnder(tn.dataDir)) {
      if (file.endsWith("sim-platform-secret") || file.endsWith("sim-quoting-key.json")) continue;
      haystacks.push({ where: file, text: readFileSync(file).toString("latin1").toLowerCase() });
    }
    haystacks.push({ where: "host logs", text: tn.logs.join("\n").toLowerCase() });

    const hexOf = (s: string) => Buffer.from(s).toString("hex");
    const needles: string[] = [];
    for (const amount of [SUPPLY, MINTED, TO_BOB, ALLOWED, SPENT, BURNT]) {
      needles.push(amount.toString(), numberToHex(amount, { size: 32 }).slice(2));
    }
    for (const account of [bob, carol]) needles.push(account.address.slice(2).toLowerCase());
    for (const name of ["transferFrom", "totalSupply", "approve", "construct"])
      needles.push(name.toLowerCase(), hexOf(name));
    assert.ok(haystacks.length > 20);
    for (const needle of needles) {
      for (const hay of haystacks)
        assert.equal(hay.text.includes(needle), false, `${needle} found in ${hay.where}`);
    }
  });
});
