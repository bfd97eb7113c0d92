// The sealed-bid auction through testApp (every command and query run twice on fresh copies of the
// state): bids escrowed in the embedded token, replaced, refused beyond the balance, after closesAt
// or from the opener; the highest bid wins (ties to the earliest), the losers are refunded and the
// opener paid; no query shows a bid but the caller's own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { canonicalJson } from "../../src/app/canonical.js";
import { testApp } from "../../src/app/test-app.js";
import { appSteps } from "../../test/support/app-steps.js";
import { auction, ESCROW } from "./index.js";

const seller = "0x5e11e00000000000000000000000000000000001" as Address;
const alice = "0x1000000000000000000000000000000000000001" as Address;
const bob = "0x2000000000000000000000000000000000000002" as Address;
const carol = "0x3000000000000000000000000000000000000003" as Address;
const START = 1_000n;

/** An auction app whose token alice constructed and shared: alice 400, bob 300, carol 300. */
function market() {
  const app = testApp(auction, { timestamp: START });
  const steps = appSteps(app);
  const { ok, ask } = steps;
  const balance = (who: Address) => ask(who, "balanceOf");
  ok(alice, "construct", { totalSupply: "1000" });
  ok(alice, "transfer", { to: bob, amount: "300" });
  ok(alice, "transfer", { to: carol, amount: "300" });
  return { app, ...steps, balance };
}

describe("auction", () => {
  it("offers the embedded token's commands and queries under their own names", () => {
    const { ask, balance } = market();
    assert.equal(balance(alice), 400n);
    assert.equal(ask(carol, "totalSupply"), 1000n);
    assert.equal(ask(carol, "owner"), alice);
  });

  it("escrows bids, replaces a bidder's bid, and refuses one beyond the balance as the token does", () => {
    const { ok, refused, ask, balance, app } = market();
    ok(seller, "open", { id: "lot1", item: "a painting" });
    ok(bob, "bid", { id: "lot1", amount: "100" });
    assert.equal(balance(bob), 200n);
    ok(bob, "bid", { id: "lot1", amount: "250" }); // replaces: 150 more in escrow
    assert.equal(balance(bob), 50n);
    assert.equal(ask(bob, "myBid", { id: "lot1" }), 250n);
    ok(bob, "bid", { id: "lot1", amount: "120" }); // lower: 130 back
    assert.equal(balance(bob), 180n);
    refused(bob, "bid", { id: "lot1", amount: "301" }, /^transfer amount exceeds balance$/);
    assert.equal(ask(bob, "myBid", { id: "lot1" }), 120n, "a refused bid leaves the old one");
    refused(carol, "bid", { id: "lot1", amount: "301" }, /^transfer amount exceeds balance$/);
    assert.equal(ask(carol, "myBid", { id: "lot1" }), null);
    assert.equal(app.state.token.balances.get(ESCROW), 120n, "the escrow holds the bids");
  });

  it("refuses the opener's bid, a zero bid and one under the reserve", () => {
    const { ok, refused } = market();
    ok(alice, "open", { id: "lot", item: "a vase", reserve: "50" });
    refused(alice, "bid", { id: "lot", amount: "60" }, /the opener may not bid/);
    refused(bob, "bid", { id: "lot", amount: "49" }, /at least the reserve/);
    refused(bob, "bid", { id: "lot", amount: "0" }, /above zero/);
    refused(bob, "bid", { id: "nosuch", amount: "60" }, /no auction "nosuch"/);
    ok(bob, "bid", { id: "lot", amount: "50" });
    refused(carol, "open", { id: "lot", item: "another" }, /exists/);
  });

  it("refuses bids from closesAt on, and lets anyone close from then (the opener any time)", () => {
    const { app, ok, refused, ask } = market();
    refused(seller, "open", { id: "past", item: "x", closesAt: START.toString() }, /a block time to come/);
    ok(seller, "open", { id: "timed", item: "a clock", closesAt: "1100" });
    ok(bob, "bid", { id: "timed", amount: "10" });
    refused(carol, "close", { id: "timed" }, /only the opener may close before closesAt/);
    assert.equal((ask(carol, "auction", { id: "timed" }) as { status: string }).status, "open");
    app.timestamp = 1_100n;
    refused(carol, "bid", { id: "timed", amount: "20" }, /bidding has ended/);
    refused(bob, "bid", { id: "timed", amount: "20" }, /bidding has ended/);
    assert.equal((ask(carol, "auction", { id: "timed" }) as { status: string }).status, "ended");
    ok(carol, "close", { id: "timed" }); // anyone, once closesAt has come
    refused(seller, "close", { id: "timed" }, /the auction is closed/);
    refused(bob, "bid", { id: "timed", amount: "20" }, /bidding has ended/);

    ok(seller, "open", { id: "untimed", item: "a lamp" });
    app.timestamp = 10_000n;
    refused(bob, "close", { id: "untimed" }, /only the opener/); // no closesAt: only the opener
    ok(seller, "close", { id: "untimed" });
  });

  it("refuses the result while open; after close gives the winner and price to anyone, pays the opener and refunds the losers", () => {
    const { ok, refused, ask, unanswered, balance, app } = market();
    ok(seller, "open", { id: "lot", item: "a painting", reserve: "10" });
    ok(alice, "bid", { id: "lot", amount: "150" });
    ok(bob, "bid", { id: "lot", amount: "200" });
    ok(carol, "bid", { id: "lot", amount: "120" });
    for (const who of [seller, alice, bob])
      unanswered(who, "result", { id: "lot" }, /^the auction is open: its result comes at close$/);
    const closed = ok(seller, "close", { id: "lot" });
    assert.deepEqual(closed, { winner: bob, price: 200n });
    // The close alone published, and only the auction, its winner and price: no losing bid.
    assert.deepEqual(app.outputs, [
      { sequence: app.sequence - 1n, output: { id: "lot", winner: bob, price: 200n } },
    ]);
    const published = canonicalJson(app.outputs.map((o) => o.output));
    for (const hidden of ["150", "120", alice, carol]) assert.ok(!published.includes(hidden), hidden);
    const stranger = "0x9000000000000000000000000000000000000009" as Address;
    for (const who of [stranger, alice, seller])
      assert.deepEqual(ask(who, "result", { id: "lot" }), { winner: bob, price: 200n });
    assert.equal(balance(seller), 200n, "the opener receives the price");
    assert.equal(balance(bob), 100n, "the winner paid their bid");
    assert.equal(balance(alice), 400n, "a loser is refunded");
    assert.equal(balance(carol), 300n, "a loser is refunded");
    assert.equal(app.state.token.balances.get(ESCROW), undefined, "nothing stays in escrow");
    assert.equal(ask(seller, "totalSupply"), 1000n);
    refused(alice, "bid", { id: "lot", amount: "1" }, /bidding has ended/);
  });

  it("gives a tie to the earliest bid, a replaced bid counting from its replacement", () => {
    const { ok, ask } = market();
    ok(seller, "open", { id: "tie", item: "a chair" });
    ok(carol, "bid", { id: "tie", amount: "90" });
    ok(bob, "bid", { id: "tie", amount: "100" });
    ok(carol, "bid", { id: "tie", amount: "100" }); // matches bob, later
    ok(alice, "bid", { id: "tie", amount: "100" });
    ok(seller, "close", { id: "tie" });
    assert.deepEqual(ask(carol, "result", { id: "tie" }), { winner: bob, price: 100n });

    ok(seller, "open", { id: "tie2", item: "a table" });
    ok(alice, "bid", { id: "tie2", amount: "50" });
    ok(bob, "bid", { id: "tie2", amount: "50" });
    ok(alice, "bid", { id: "tie2", amount: "50" }); // the same amount again: a new bid, now the later
    ok(seller, "close", { id: "tie2" });
    assert.deepEqual(ask(carol, "result", { id: "tie2" }), { winner: bob, price: 50n });
  });

  it("closes with no winner when nobody bid", () => {
    const { ok, ask, app } = market();
    ok(seller, "open", { id: "empty", item: "nothing wanted" });
    assert.deepEqual(ok(seller, "close", { id: "empty" }), { winner: null, price: null });
    assert.deepEqual(app.outputs.at(-1)?.output, { id: "empty", winner: null, price: null });
    assert.deepEqual(ask(bob, "result", { id: "empty" }), { winner: null, price: null });
  });

  it("shows each bidder their own bid alone, and never the bids or their number in `auction`", () => {
    const { ok, ask, app } = market();
    ok(seller, "open", { id: "lot", item: "a painting", reserve: "5", closesAt: "5000" });
    const before = canonicalJson(ask(carol, "auction", { id: "lot" }));
    ok(alice, "bid", { id: "lot", amount: "77" });
    ok(bob, "bid", { id: "lot", amount: "88" });
    assert.equal(ask(alice, "myBid", { id: "lot" }), 77n);
    assert.equal(ask(bob, "myBid", { id: "lot" }), 88n);
    assert.equal(ask(carol, "myBid", { id: "lot" }), null);
    assert.equal(ask(seller, "myBid", { id: "lot" }), null, "not even the opener reads a bid");
    const described = ask(carol, "auction", { id: "lot" });
    assert.deepEqual(described, {
      opener: seller,
      item: "a painting",
      reserve: 5n,
      closesAt: 5000n,
      status: "open",
    });
    assert.equal(canonicalJson(described), before, "two bids later, the same answer");
    ok(seller, "close", { id: "lot" });
    const after = canonicalJson(ask(carol, "auction", { id: "lot" }));
    assert.doesNotMatch(after, /77|bids/, "a losing bid is never shown");
    assert.doesNotMatch(canonicalJson(ask(carol, "result", { id: "lot" })), /77/);
    assert.equal(app.send(alice, "close", { id: "lot" }).reason, "the auction is closed");
  });
});
