// The confidential ballot through testApp (every command and query run twice on fresh copies of the
// state): only the listed voters vote, one counted vote each (a new one replaces it), the tally only
// after close and to anyone, and no query tells who voted what or how many have voted while open.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { canonicalJson } from "../../src/app/canonical.js";
import { testApp } from "../../src/app/test-app.js";
import { appSteps } from "../../test/support/app-steps.js";
import { voting } from "./index.js";

const clerk = "0xc1e4000000000000000000000000000000000001" as Address;
const [alice, bob, carol, dave] = [1, 2, 3, 4].map((n) => `0x${String(n).repeat(40)}` as Address) as [
  Address,
  Address,
  Address,
  Address,
];
const outsider = "0x9000000000000000000000000000000000000009" as Address;
const START = 1_000n;
const CHOICES = ["yes", "no", "abstain"];
/** The tally of `votes` for yes, no and abstain, of `eligible` voters. */
const tallyOf = (votes: readonly bigint[], eligible: bigint) => ({
  counts: CHOICES.map((choice, i) => ({ choice, votes: votes[i]! })),
  cast: votes.reduce((sum, n) => sum + n, 0n),
  eligible,
});

function election() {
  const app = testApp(voting, { timestamp: START });
  const steps = appSteps(app);
  const { ok } = steps;
  const open = (id: string, extra: Record<string, unknown> = {}) =>
    ok(clerk, "open", {
      id,
      question: "Adopt the budget?",
      choices: CHOICES,
      voters: [alice, bob, carol],
      ...extra,
    });
  return { app, ...steps, open };
}

describe("voting", () => {
  it("lets only the listed voters vote, for a listed choice", () => {
    const { ok, refused, ask, open } = election();
    open("b1");
    refused(outsider, "vote", { id: "b1", choice: "yes" }, /not a voter on this ballot/);
    refused(clerk, "vote", { id: "b1", choice: "yes" }, /not a voter/); // opening is not being listed
    refused(alice, "vote", { id: "b1", choice: "maybe" }, /not a choice: "maybe"/);
    refused(alice, "vote", { id: "nosuch", choice: "yes" }, /no ballot "nosuch"/);
    ok(alice, "vote", { id: "b1", choice: "yes" });
    assert.equal(ask(alice, "myVote", { id: "b1" }), "yes");
    assert.equal(ask(bob, "myVote", { id: "b1" }), null);
    assert.equal((ask(alice, "ballot", { id: "b1" }) as { eligible: boolean }).eligible, true);
    assert.equal((ask(outsider, "ballot", { id: "b1" }) as { eligible: boolean }).eligible, false);
  });

  it("refuses a malformed ballot", () => {
    const { refused, open } = election();
    const base = { id: "x", question: "Q?", choices: CHOICES, voters: [alice] };
    refused(clerk, "open", { ...base, choices: ["only"] }, /at least two choices/);
    refused(clerk, "open", { ...base, choices: ["a", "a"] }, /must differ/);
    refused(clerk, "open", { ...base, voters: [] }, /needs voters/);
    refused(clerk, "open", { ...base, closesAt: START.toString() }, /a block time to come/);
    refused(clerk, "open", { ...base, voters: ["0x12"] }, /invalid params: params\.voters\[0\]/);
    open("x");
    refused(clerk, "open", base, /exists/);
  });

  it("counts one vote per voter: a new vote replaces the earlier one", () => {
    const { ok, ask, open } = election();
    open("b");
    ok(alice, "vote", { id: "b", choice: "no" });
    ok(alice, "vote", { id: "b", choice: "yes" });
    ok(alice, "vote", { id: "b", choice: "yes" });
    assert.equal(ask(alice, "myVote", { id: "b" }), "yes");
    ok(bob, "vote", { id: "b", choice: "no" });
    const tally = ok(clerk, "close", { id: "b" });
    assert.deepEqual(tally, tallyOf([1n, 1n, 0n], 3n));
  });

  it("refuses the tally while open, gives it to anyone after close, and takes no vote after", () => {
    const { app, ok, refused, ask, unanswered, open } = election();
    open("b", { voters: [alice, bob, carol, dave, dave], closesAt: "2000" }); // dave listed twice: one voter
    ok(alice, "vote", { id: "b", choice: "yes" });
    ok(bob, "vote", { id: "b", choice: "yes" });
    ok(carol, "vote", { id: "b", choice: "abstain" });
    for (const who of [clerk, alice, outsider])
      unanswered(who, "tally", { id: "b" }, /^the ballot is open: its tally comes at close$/);
    refused(outsider, "close", { id: "b" }, /only the opener may close before closesAt/);
    app.timestamp = 2_000n;
    refused(dave, "vote", { id: "b", choice: "no" }, /voting has ended/);
    assert.deepEqual(app.outputs, [], "nothing is published before close");
    ok(outsider, "close", { id: "b" }); // anyone, once closesAt has come
    const expected = tallyOf([2n, 0n, 1n], 4n);
    // On chain with the close's batch: the counts in the choices' order, and nothing of who voted what.
    assert.deepEqual(app.outputs, [
      { sequence: app.sequence - 1n, output: { id: "b", counts: [2n, 0n, 1n], cast: 3n, eligible: 4n } },
    ]);
    for (const who of [outsider, clerk, dave]) assert.deepEqual(ask(who, "tally", { id: "b" }), expected);
    refused(clerk, "close", { id: "b" }, /the ballot is closed/);
    refused(alice, "vote", { id: "b", choice: "no" }, /voting has ended/);
    assert.equal((ask(outsider, "ballot", { id: "b" }) as { status: string }).status, "closed");
  });

  it("shows no one another's vote, nor how many voted while the ballot is open", () => {
    const { ok, ask, unanswered, open } = election();
    open("b");
    const ballot = () => canonicalJson(ask(outsider, "ballot", { id: "b" }));
    const before = ballot();
    ok(alice, "vote", { id: "b", choice: "no" });
    ok(bob, "vote", { id: "b", choice: "yes" });
    assert.equal(ballot(), before, "votes cast change nothing anyone reads");
    assert.deepEqual(ask(outsider, "ballot", { id: "b" }), {
      question: "Adopt the budget?",
      choices: CHOICES,
      closesAt: null,
      status: "open",
      voters: 3n,
      eligible: false,
    });
    assert.equal(ask(alice, "myVote", { id: "b" }), "no");
    assert.equal(ask(bob, "myVote", { id: "b" }), "yes");
    unanswered(outsider, "myVote", { id: "b" }, /not a voter on this ballot/);
    ok(clerk, "close", { id: "b" });
    assert.doesNotMatch(canonicalJson(ask(outsider, "tally", { id: "b" })), /0x/, "the tally names no voter");
  });
});
