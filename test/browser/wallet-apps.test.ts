// The web wallet shows the app its network runs, learned from the node and confirmed on chain, with
// no `?app=`: on a devnet of the auction, a page shows the auction's forms (the embedded token's
// too), marks its optional fields, renders records readably, shows a command's result from its
// receipt (the winner and price at close) and answers the public result without a signature. A
// network of an app the page was not built with (the fixture app counter, served by the user's own
// `anonify wallet serve`) is named, with its code hash, and what to do. Runs bin/anonify.mjs and the
// built page: run `npm run build` first.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { REPO_ROOT } from "../../src/build/enclave-bundle.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { anonify, CLI, type OperatorNet, startOperatorNet } from "../operators/operator-net.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type Browser, launchChromium, NO_CHROMIUM } from "./chromium.js";
import { WalletPage } from "./wallet-page.js";

const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");
const PASSPHRASE = "correct horse battery staple";
const SUPPLY = 1_000n;
const BIDDER_FUNDS = 300n;
const BID = 250n;
const AUCTION = "lamp-1";
const ITEM = "a brass lamp";
/** What the page shows for the network's app: "auction v1 (code hash 0x…)". */
const APP_LINE = /^auction v1 \(code hash 0x[0-9a-f]{64}\)$/;

type BuiltApp = { path: string; measurement: Hex; app: { name: string; codeHash: Hex } };

describe("the web wallet shows the app the network runs", { skip: NO_CHROMIUM }, () => {
  let tn: TestNet;
  let counter: OperatorNet;
  let counterApp: BuiltApp["app"];
  let served: ChildCommand<{ url: string }>;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), "anonify-wallet-apps-"));

  /** A network of the counter, which no page is built with, and the user's own wallet page for it. */
  const startCounterNet = async () => {
    const { stdout } = await anonify(
      ...["enclave", "build", "--app", "counter", "--apps-dir", FIXTURE_APPS, "--json"],
      ...["--out", join(dir, "counter.mjs")],
    );
    const built = JSON.parse(stdout) as BuiltApp;
    counterApp = built.app;
    counter = await startOperatorNet(1, { enclave: built });
    served = await startChildCommand<{ url: string }>(CLI, [
      ...["wallet", "serve", "--network", counter.profile, "--node", counter.nodes[0]!.url],
      ...["--port", "0", "--json"],
    ]);
  };

  before(async () => {
    [tn] = await Promise.all([startTestNet(1, { app: "auction" }), startCounterNet()]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await served?.stop();
    await counter?.stop();
    await tn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an auction's page shows its forms, marks optional fields, and shows results, a command's and the public one", async () => {
    const node = tn.net.nodes[0]!.url;
    const opener = new WalletPage(await browser.context.newPage());
    const bidder = new WalletPage(await browser.context.newPage());
    await opener.open(node);
    await bidder.open(node);
    const openerAddress = await opener.createLocalWallet(PASSPHRASE);
    const bidderAddress = await bidder.createLocalWallet(PASSPHRASE);
    assert.match((await opener.page.getByLabel("app", { exact: true }).textContent()) ?? "", APP_LINE);
    for (const command of ["open", "bid", "close", "construct", "transfer"])
      await opener.page.getByRole("form", { name: `command ${command}`, exact: true }).waitFor();

    // An optional field says so and is not required; a number field says what it takes.
    const open = opener.page.getByRole("form", { name: "command open", exact: true });
    for (const field of ["reserve", "closesAt"]) {
      const input = open.getByLabel(`${field} (optional)`, { exact: true });
      assert.equal(await input.getAttribute("required"), null, `${field} is not required`);
    }
    assert.notEqual(await open.getByLabel("item", { exact: true }).getAttribute("required"), null);
    assert.equal(
      await open.getByLabel("reserve (optional)").getAttribute("aria-describedby"),
      "command-open-reserve-hint",
    );
    assert.equal(
      await open.locator("#command-open-reserve-hint").textContent(),
      " a whole number",
      "a number field names its kind",
    );

    const applied = async (page: WalletPage, command: string, params: Record<string, string>) => {
      const entry = await page.submit(command, params);
      await page.step(entry, "applied");
      await page.step(entry, "final");
      assert.equal(await entry.locator(".steps .failed").count(), 0, `${command} shows no failure`);
      return entry;
    };
    await applied(opener, "construct", { totalSupply: SUPPLY.toString() });
    await applied(opener, "transfer", { to: bidderAddress, amount: BIDDER_FUNDS.toString() });
    // The optional fields left empty: no reserve, no closing time.
    const opened = await applied(opener, "open", { id: AUCTION, item: ITEM });
    assert.equal(await opened.locator("output.result").count(), 0, "a command without a result shows none");
    await bidder.waitForBalance(BIDDER_FUNDS);

    // A record answered by a signed query, shown as names and values.
    const { result: shown } = await opener.ask("auction", { id: AUCTION });
    // (The app keeps addresses as its context gives them, in lower case: shown as kept.)
    assert.deepEqual(await opener.definitions(shown), {
      opener: openerAddress.toLowerCase(),
      item: ITEM,
      reserve: "0",
      closesAt: "none",
      status: "open",
    });

    // Public results: refused while the auction is open, with the app's reason.
    const early = await bidder.ask("result", { id: AUCTION });
    await early.problem.filter({ hasText: "the auction is open: its result comes at close" }).waitFor();

    await applied(bidder, "bid", { id: AUCTION, amount: BID.toString() });
    await bidder.waitForBalance(BIDDER_FUNDS - BID);
    const close = await applied(opener, "close", { id: AUCTION });
    // The close's receipt carries the outcome: the page shows it, readably.
    const outcome = { winner: bidderAddress.toLowerCase(), price: BID.toString() };
    assert.deepEqual(await opener.definitions(await opener.commandResult(close)), outcome);
    await opener.waitForBalance(SUPPLY - BIDDER_FUNDS + BID);
    const { result: published } = await bidder.ask("result", { id: AUCTION });
    assert.deepEqual(await bidder.definitions(published), outcome);
    for (const page of [opener, bidder])
      assert.equal(await page.page.getByText("[object Object]").count(), 0, "no value printed as an object");
  });

  test("a page opened with ?app= says it is no longer used and shows the network's app", async () => {
    const page = new WalletPage(await browser.context.newPage());
    await page.open(tn.net.nodes[0]!.url, "wallet", "?app=erc20");
    await page.page.getByRole("note").filter({ hasText: "?app= is no longer used" }).waitFor();
    await page.unlock(PASSPHRASE);
    await page.address();
    assert.match((await page.page.getByLabel("app", { exact: true }).textContent()) ?? "", APP_LINE);
  });

  test("a network of an app the page does not know is named, with its code hash, and what to do", async () => {
    const page = new WalletPage(await browser.context.newPage());
    await page.page.goto(`${served.ready.url}#wallet`);
    const problem = page.page.getByRole("alert").filter({ hasText: /^This network runs counter/ });
    await problem.waitFor();
    assert.equal(
      await problem.textContent(),
      `This network runs counter v1 (code hash ${counterApp.codeHash}); this page knows auction, erc20 ` +
        "and voting: rebuild the wallet with that app in apps/, or serve a wallet that includes it (anonify wallet serve).",
    );
    // Nothing to do here without the app: no key is asked for.
    assert.equal(await page.page.getByRole("button", { name: "create wallet" }).count(), 0);
  });
});
