// The web wallet on a devnet of the voting app, as its users would use it: the opener lists the
// choices and the voters (lists, one item per line), each voter votes and sees only their own vote,
// someone not listed is refused with the app's reason, the tally is refused while the ballot is open,
// and at close the page shows the close's result, the public tally (asked by a voter, with no
// signature of the opener) and the close's public output from its batch's record on chain: the counts
// in choice order, never who voted what. Runs the built page: run `npm run build` first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Locator } from "playwright-core";
import { startTestNet, type TestNet } from "../support/network.js";
import { type Browser, launchChromium, NO_CHROMIUM } from "./chromium.js";
import { WalletPage } from "./wallet-page.js";

const PASSPHRASE = "correct horse battery staple";
const BALLOT = "budget-2027";
const QUESTION = "Adopt the 2027 budget?";
const CHOICES = ["yes", "no", "abstain"];

/** The items of a list the page shows (result-view.ts renders an array as a numbered list). */
const listItems = async (output: Locator, name: string) => {
  await output.locator(":scope > dl").waitFor();
  return output.locator(`:scope > dl > dt:text-is("${name}") + dd > ol > li`).allTextContents();
};

describe("the web wallet runs a confidential ballot", { skip: NO_CHROMIUM }, () => {
  let tn: TestNet;
  let browser: Browser;

  before(async () => {
    [tn, browser] = await Promise.all([startTestNet(1, { app: "voting" }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await tn?.stop();
  });

  test("open with lists, vote, refuse an outsider, close: the result, the public tally and the chain's record", async () => {
    const node = tn.net.nodes[0]!.url;
    const [opener, alice, bob, outsider] = await Promise.all(
      [0, 1, 2, 3].map(async () => new WalletPage(await browser.context.newPage())),
    );
    // Every page opens before any makes its key: they share the browser's storage, as the
    // auction's pages do, and each keeps the key it made.
    const pages = [opener!, alice!, bob!, outsider!];
    for (const page of pages) await page.open(node);
    const addresses = [];
    for (const page of pages) addresses.push(await page.createLocalWallet(PASSPHRASE));
    const [, aliceAddress, bobAddress] = addresses;
    assert.match((await opener!.page.getByLabel("app", { exact: true }).textContent()) ?? "", /^voting v1 /);

    const applied = async (page: WalletPage, command: string, params: Record<string, string>) => {
      const entry = await page.submit(command, params);
      await page.step(entry, "applied");
      assert.equal(await entry.locator(".steps .failed").count(), 0, `${command} shows no failure`);
      return entry;
    };
    // The lists are typed one item per line, as the form's hint says.
    await applied(opener!, "open", {
      id: BALLOT,
      question: QUESTION,
      choices: CHOICES.join("\n"),
      voters: `${aliceAddress}\n${bobAddress}`,
    });
    const { result: ballot } = await alice!.ask("ballot", { id: BALLOT });
    assert.deepEqual(await listItems(ballot, "choices"), CHOICES);
    assert.equal((await alice!.definitions(ballot)).eligible, "true");

    await applied(alice!, "vote", { id: BALLOT, choice: "yes" });
    await applied(bob!, "vote", { id: BALLOT, choice: "no" });
    // Bob changes his mind: a re-vote replaces the vote.
    await applied(bob!, "vote", { id: BALLOT, choice: "yes" });
    const { result: own } = await bob!.ask("myVote", { id: BALLOT });
    await own.filter({ hasText: /^yes$/ }).waitFor();

    // Someone not listed: the app refuses the vote, and the page says why.
    const refused = await outsider!.submit("vote", { id: BALLOT, choice: "no" });
    await outsider!.step(refused, /not a voter on this ballot/);
    // While open, the tally is refused to anyone, with the app's reason.
    const early = await alice!.ask("tally", { id: BALLOT });
    await early.problem.filter({ hasText: "the ballot is open: its tally comes at close" }).waitFor();

    const close = await applied(opener!, "close", { id: BALLOT });
    const result = await opener!.commandResult(close);
    const shown = await opener!.definitions(result);
    assert.equal(shown.cast, "2");
    assert.equal(shown.eligible, "2");
    // The public tally, asked by a voter: the same counts, each choice named.
    const { result: tally } = await alice!.ask("tally", { id: BALLOT });
    assert.deepEqual(await alice!.definitions(tally), shown);
    assert.deepEqual(
      await tally
        .locator(":scope > dl > dd ol > li dl")
        .evaluateAll((lists) => lists.map((dl) => dl.textContent)),
      ["choiceyesvotes2", "choicenovotes0", "choiceabstainvotes0"],
    );
    // On chain, from the close's batch record as the SDK checked it: counts in choice order, no voter.
    await opener!.step(close, /^public output: /);
    const record = close.locator("output.public-output");
    assert.deepEqual(await listItems(record, "counts"), ["2", "0", "0"]);
    const onChain = await opener!.definitions(record);
    assert.equal(onChain.id, BALLOT);
    assert.equal(onChain.cast, "2");
    const text = (await record.textContent()) ?? "";
    for (const voter of [aliceAddress!, bobAddress!])
      assert.ok(!text.toLowerCase().includes(voter.toLowerCase().slice(2)), "no voter in the record");
    // A vote after close is refused.
    const late = await bob!.submit("vote", { id: BALLOT, choice: "no" });
    await bob!.step(late, /voting has ended/);
  });
});
