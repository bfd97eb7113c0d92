// The confidential ballot (apps/voting) on a network, through the CLI and the typed SDK: the opener
// opens a ballot for its voters with `call open`, voters vote through the SDK (typed by the app: a
// misspelt command does not compile), one not listed is refused, a new vote replaces the old, nothing
// is counted while the ballot is open, and at close anyone reads the tally without a key (CLI
// `--public` and the SDK's public query, checked by the reader; and on chain, the close's public
// output, read by the SDK). Runs bin/anonify.mjs and
// dist/enclave/apps/voting.mjs: `npm run build` first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import voting from "../../apps/voting/index.js";
import { type AppNetwork, startAppNetwork, stderrOf } from "../support/app-network.js";
import { until } from "../support/wait.js";

const BALLOT = "lunch";
const ID = JSON.stringify({ id: BALLOT });
const CHOICES = ["tea", "coffee"];

describe("the ballot on a network, through the CLI and the SDK", () => {
  let net: AppNetwork<typeof voting>;
  const [alice, bob, carol, mallory] = Array.from({ length: 4 }, () =>
    privateKeyToAccount(generatePrivateKey()),
  );

  before(async () => {
    net = await startAppNetwork(voting);
  });
  after(async () => {
    await net?.stop();
  });

  test("voters vote in secret, a new vote replaces the old; at close anyone reads the tally", async () => {
    // Carol may vote and abstains: the tally counts her as eligible, not as cast.
    const voters = [alice!, bob!, carol!].map((v) => v.address);
    const question = "Tea or coffee?";
    await net.opener("call", "open", JSON.stringify({ id: BALLOT, question, choices: CHOICES, voters }));

    const [a, b, m] = await Promise.all([alice!, bob!, mallory!].map((v) => net.sdk(v)));
    // @ts-expect-error -- the ballot has no command "vot": a typo does not compile (and is refused)
    await assert.rejects(a!.call("vot", { id: BALLOT, choice: "tea" }));
    // Three voters at once (each their own commands in order): the outsider, Alice twice, Bob.
    const [outsider, , bobs] = await Promise.all([
      m!.call("vote", { id: BALLOT, choice: "tea" }),
      (async () => {
        assert.equal((await a!.call("vote", { id: BALLOT, choice: "coffee" })).status, "applied");
        assert.equal((await a!.call("vote", { id: BALLOT, choice: "tea" })).status, "applied");
      })(),
      b!.call("vote", { id: BALLOT, choice: "tea" }),
    ]);
    assert.equal(outsider.status, "failed", "one not listed may not vote");
    assert.match(outsider.reason ?? "", /not a voter on this ballot/);
    assert.equal(bobs.status, "applied");
    assert.equal(await a!.query("myVote", { id: BALLOT }), "tea", "the new vote replaced the old");

    // While open: the ballot shows no count, and the tally is refused, even to a voter.
    const shown = (await a!.query("ballot", { id: BALLOT })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(shown).sort(), [
      "choices",
      "closesAt",
      "eligible",
      "question",
      "status",
      "voters",
    ]);
    assert.equal(shown.status, "open");
    await assert.rejects(net.reader("query", "tally", ID, "--public"), (e: unknown) => {
      assert.match(stderrOf(e), /the ballot is open: its tally comes at close/);
      return true;
    });

    const closed = await net.opener("call", "close", ID);
    assert.match(closed.stdout, /^applied at sequence \d+: 0x[0-9a-f]{64}\nresult: /);
    // Alice's replaced vote for coffee counts for nothing; Carol abstained.
    const tally = {
      counts: [
        { choice: "tea", votes: 2n },
        { choice: "coffee", votes: 0n },
      ],
      cast: 2n,
      eligible: 3n,
    };
    const printed = JSON.stringify(tally, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    assert.deepEqual(
      JSON.parse((await net.reader("query", "tally", ID, "--public")).stdout),
      JSON.parse(printed),
    );
    assert.deepEqual((await b!.publicQuery("tally", { id: BALLOT })).result, tally);
    // And on chain with the close's batch, for readers without a node: the counts in the choices' order.
    const batch = await net.lastBatch();
    const published = await until("the tally on chain", () => b!.publicOutputs(batch));
    assert.deepEqual(
      published.outputs.map((o) => o.output),
      [{ id: BALLOT, counts: [2n, 0n], cast: 2n, eligible: 3n }],
    );
  });
});
