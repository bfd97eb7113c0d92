// The sealed-bid auction (apps/auction) on a network, through the CLI and the typed SDK: its token is
// minted and sent with the token's own commands, bids are escrowed and never shown to anyone but the
// bidder, `call close` prints the command's result, and anyone reads the result without a key (a
// public query, checked by the reader), and the close's public output appears on chain with its batch
// (`anonify outputs`, the SDK's `publicOutputs`), holding only what the app published, padded; a chain
// that lies about it is refused by name. Runs bin/anonify.mjs and dist/enclave/apps/auction.mjs:
// `npm run build` first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, type Hex, hexToBytes, http, type LocalAccount, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import auction from "../../apps/auction/index.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { outputsDigest } from "../../src/protocol/digests.js";
import { PADDING_BUCKETS } from "../../src/protocol/padding.js";
import { encodeOutputs } from "../../src/protocol/public-outputs.js";
import { type AppNetwork, startAppNetwork, stderrOf } from "../support/app-network.js";
import { type OutputsLie, rpcLyingAboutOutputs } from "../support/lying-outputs.js";
import { until } from "../support/wait.js";

/** What the opener mints, and what each bidder is sent of it. */
const SUPPLY = 1_000n;
const FUNDS = 100n;

describe("the auction on a network, through the CLI and the SDK", () => {
  let net: AppNetwork<typeof auction>;
  const bidders: LocalAccount[] = [
    privateKeyToAccount(generatePrivateKey()),
    privateKeyToAccount(generatePrivateKey()),
  ];
  /** The CLI as the opener runs it. */
  const opener = (...args: string[]) => net.opener(...args);

  before(async () => {
    net = await startAppNetwork(auction);
  });
  after(async () => {
    await net?.stop();
  });

  test("bids are escrowed and hidden; close prints the outcome; anyone reads the result", async () => {
    await opener("call", "construct", JSON.stringify({ totalSupply: SUPPLY.toString() }));
    for (const b of bidders)
      await opener("call", "transfer", JSON.stringify({ to: b.address, amount: FUNDS.toString() }));
    await opener("call", "open", '{"id":"bike","item":"a red bicycle","reserve":10}');

    const [alice, bob] = await Promise.all(bidders.map((b) => net.sdk(b)));
    // Typed by the app's definition: the token's commands and the auction's, each with its params.
    assert.equal((await alice!.call("bid", { id: "bike", amount: 40n })).status, "applied");
    const beyond = await bob!.call("bid", { id: "bike", amount: FUNDS + 1n });
    assert.equal(beyond.status, "failed", "a bid beyond the bidder's balance is refused");
    assert.equal((await bob!.call("bid", { id: "bike", amount: 70n })).status, "applied");
    assert.equal(await alice!.query("balanceOf", {}), FUNDS - 40n, "the bid is escrowed");
    assert.equal(await alice!.query("myBid", { id: "bike" }), 40n, "a bidder reads their own bid");

    // Nobody reads the bids: not their number, not their amounts.
    const shown = (await opener("query", "auction", '{"id":"bike"}')).stdout;
    assert.deepEqual(Object.keys(JSON.parse(shown) as object).sort(), [
      "closesAt",
      "item",
      "opener",
      "reserve",
      "status",
    ]);
    const reader = (...args: string[]) => net.reader(...args);
    await assert.rejects(reader("query", "result", '{"id":"bike"}', "--public"), (e: unknown) => {
      assert.match(stderrOf(e), /the auction is open: its result comes at close/);
      return true;
    });
    await assert.rejects(
      alice!.call("close", { id: "bike" }).then((r) => {
        if (r.status === "failed") throw new AnonifyClientError("failed", r.reason ?? "");
      }),
      /only the opener may close/,
    );

    const closed = await opener("call", "close", '{"id":"bike"}');
    const outcome = `{"price":"70","winner":"${bob!.address.toLowerCase()}"}`;
    assert.match(
      closed.stdout,
      new RegExp(
        `^applied at sequence \\d+: 0x[0-9a-f]{64}\\nresult: ${outcome.replace(/[{}]/g, "\\$&")}\\n$`,
      ),
    );
    // Anyone, without a key; and the SDK's public query, checked by the reader.
    assert.equal((await reader("query", "result", '{"id":"bike"}', "--public")).stdout, `${outcome}\n`);
    assert.deepEqual((await alice!.publicQuery("result", { id: "bike" })).result, {
      price: 70n,
      winner: bob!.address.toLowerCase(),
    });
    // The loser is refunded, the winner paid, the opener received the price.
    assert.equal(await alice!.query("balanceOf", {}), FUNDS);
    assert.equal(await bob!.query("balanceOf", {}), FUNDS - 70n);
    assert.equal((await opener("query", "balanceOf", "{}")).stdout, `"${SUPPLY - 2n * FUNDS + 70n}"\n`);

    // The close's public output, on chain with its batch (the last: the close was the last command),
    // once the node published it: read and checked by the SDK and the CLI.
    const network = readNetworkProfile(net.net.profile);
    const chain = createPublicClient({ transport: http(network.rpcUrl) });
    const contract = { address: network.contract, abi: anonifyAbi } as const;
    const batch = await net.lastBatch();
    const published = await until("the close's outputs on chain", () => alice!.publicOutputs(batch));
    const winner = bob!.address.toLowerCase();
    assert.deepEqual(
      published.outputs.map((o) => o.output),
      [{ id: "bike", winner, price: 70n }],
    );
    const printed = JSON.parse((await reader("outputs", "--batch", batch.toString())).stdout) as unknown;
    assert.deepEqual(printed, {
      batch: batch.toString(),
      block: published.block.toString(),
      enclave: published.enclave,
      outputs: [
        { output: { id: "bike", price: "70", winner }, sequence: published.outputs[0]!.sequence.toString() },
      ],
      seq: published.seq.toString(),
    });
    // The event carries nothing but that: padded to a bucket, no losing bid, no loser.
    const [log] = await chain.getContractEvents({
      ...contract,
      eventName: "OutputsPublished",
      args: { batch },
      fromBlock: 0n,
      strict: true,
    });
    const record = hexToBytes(log!.args.outputs);
    assert.equal(record.length, PADDING_BUCKETS[0]);
    const text = Buffer.from(record).toString("latin1");
    for (const hidden of ['"40"', '"101"', bidders[0]!.address.slice(2).toLowerCase()])
      assert.ok(!text.toLowerCase().includes(hidden), `the record shows ${hidden}`);

    // A chain that lies about the record: each lie refused by name.
    const [ordered] = await chain.getContractEvents({
      ...contract,
      eventName: "BatchSubmitted",
      args: { batch },
      fromBlock: 0n,
      strict: true,
    });
    const domain = { chainId: network.chainId, contract: network.contract };
    const stranger = privateKeyToAccount(generatePrivateKey());
    const other: Hex = toHex(
      encodeOutputs([
        { sequence: 0n, output: { id: "bike", winner: bidders[0]!.address.toLowerCase(), price: 40n } },
      ]),
    );
    const strangers = await stranger.sign({
      hash: outputsDigest(domain, batch, { seq: ordered!.args.seq, head: ordered!.args.head }, other),
    });
    const lies: [string, OutputsLie, string][] = [
      ["other outputs under the enclave's signature", (l) => ({ ...l, outputs: other }), "forged_outputs"],
      [
        "other outputs signed by a key that is no enclave's",
        (l) => ({ ...l, outputs: other, signature: strangers }),
        "forged_outputs",
      ],
      ["another position", (l) => ({ ...l, seq: l.seq - 1n }), "forged_outputs"],
      ["bytes that do not decode", (l) => ({ ...l, outputs: "0x00" }), "forged_outputs"],
      [
        "the stranger named as the enclave",
        (l) => ({ ...l, outputs: other, signature: strangers, enclave: stranger.address }),
        "enclave_not_active",
      ],
    ];
    for (const [what, lie, code] of lies) {
      const lied = await AnonifyClient.connect({
        network,
        node: net.net.nodes[0]!.url,
        account: bidders[0]!,
        app: auction,
        fetch: rpcLyingAboutOutputs(lie),
      });
      await assert.rejects(lied.publicOutputs(batch), (e: unknown) => {
        assert.ok(e instanceof AnonifyClientError, `${what}: ${String(e)}`);
        assert.equal(e.code, code, `${what}: ${e.message}`);
        return true;
      });
    }
  });
});
