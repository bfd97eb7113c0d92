// The sealed-bid auction (apps/auction) on a network, through the CLI and the typed SDK: its token is
// minted and sent with the token's own commands, bids are escrowed and never shown to anyone but the
// bidder, `call close` prints the command's result, and anyone reads the result without a key (a
// public query, checked by the reader). Runs bin/anonify.mjs and dist/enclave/apps/auction.mjs:
// `npm run build` first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import auction from "../../apps/auction/index.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { type AppNetwork, startAppNetwork, stderrOf } from "../support/app-network.js";

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
  });
});
