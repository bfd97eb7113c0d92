// The web wallet shows the app its network runs, learned from the node and confirmed on chain, with
// no `?app=`: on a devnet of the auction, a page shows the auction's forms (the embedded token's
// too), marks its optional fields, renders records readably, shows a command's result from its
// receipt (the winner and price at close) and answers the public result without a signature. The
// close's public output is shown from its batch's record on chain, under its progress and, with no
// key, in the "public outputs" view; no other command (a transfer, a bid: the app declares only
// close publishing) makes the page look for one; an RPC that forges the record gets it refused by name. A
// network of an app the page was not built with (the fixture app counter, served by the user's own
// `anonify wallet serve`) is named, with its code hash, and what to do. Runs bin/anonify.mjs and the
// built page: run `npm run build` first.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, encodeEventTopics, type Hex, hexToBytes } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { REPO_ROOT } from "../../src/build/enclave-bundle.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { decodeOutputs, encodeOutputs } from "../../src/protocol/public-outputs.js";
import { anonify, CLI, type OperatorNet, startOperatorNet } from "../operators/operator-net.js";
import { rpcLyingAboutOutputs } from "../support/lying-outputs.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type Browser, launchChromium, NO_CHROMIUM } from "./chromium.js";
import { routeRpc } from "./routed-rpc.js";
import { recordRequests, requestsHolding } from "./traffic.js";
import { WalletPage } from "./wallet-page.js";

const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");
const PASSPHRASE = "correct horse battery staple";
const SUPPLY = 1_000n;
const BIDDER_FUNDS = 300n;
const BID = 250n;
const AUCTION = "lamp-1";
const ITEM = "a brass lamp";
/** The topic of the chain's public outputs records: in every RPC request that looks for one. */
const [OUTPUTS_TOPIC] = encodeEventTopics({ abi: anonifyAbi, eventName: "OutputsPublished" });
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

  test("an auction's page shows its forms, marks optional fields, and shows results, a command's, the public one and the chain's record", async () => {
    const node = tn.net.nodes[0]!.url;
    const sent = recordRequests(browser.context, [tn.net.rpcUrl]);
    const outputsLookups = () => requestsHolding(sent, [OUTPUTS_TOPIC!]).length;
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
    // Blocks after the transfer's receipt, and none of these commands publishes: no page looked.
    assert.equal(outputsLookups(), 0, "no outputs lookup after construct, transfer, open or bid");
    const close = await applied(opener, "close", { id: AUCTION });
    // The close's receipt carries the outcome: the page shows it, readably.
    const outcome = { winner: bidderAddress.toLowerCase(), price: BID.toString() };
    assert.deepEqual(await opener.definitions(await opener.commandResult(close)), outcome);
    await opener.waitForBalance(SUPPLY - BIDDER_FUNDS + BID);
    const { result: published } = await bidder.ask("result", { id: AUCTION });
    assert.deepEqual(await bidder.definitions(published), outcome);
    // What the close published on chain, from its batch's record as the SDK checked it.
    const onChain = { id: AUCTION, ...outcome };
    await opener.step(close, /^public output: /);
    assert.deepEqual(await opener.definitions(close.locator("output.public-output")), onChain);
    assert.ok(outputsLookups() > 0, "the close's output was looked for (the count sees lookups)");
    // And for anyone, by batch number, with no key: a page that never made one.
    const reader = new WalletPage(await browser.context.newPage());
    await reader.open(node, "outputs");
    const { outputs } = await reader.readOutputs(await opener.batchOf(close));
    assert.deepEqual(await reader.definitions(outputs.first()), onChain);
    assert.equal(await reader.page.getByRole("button", { name: /create wallet|unlock/ }).count(), 0);
    // A batch number that is none is said so, and the outputs shown before are gone.
    for (const bad of ["seven", (1n << 64n).toString()]) {
      const { outputs: none, problem } = await reader.readOutputs(bad);
      await problem.filter({ hasText: "a batch is a whole number below 2^64" }).waitFor();
      assert.equal(await none.count(), 0);
    }
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
  test("a record of outputs forged by the RPC is refused by name, its values never shown", async () => {
    const node = tn.net.nodes[0]!.url;
    // The RPC the page reads tells every close's outcome as won by the forger, for a price of 1,
    // under the enclave's own signature of the true record.
    const forger = privateKeyToAddress(`0x${"f0".repeat(32)}`).toLowerCase();
    const lie = rpcLyingAboutOutputs((log) => {
      const told = decodeOutputs(hexToBytes(log.outputs)).map(({ sequence, output }) => ({
        sequence,
        output: { ...(output as Record<string, unknown>), winner: forger, price: 1n } as typeof output,
      }));
      return { ...log, outputs: bytesToHex(encodeOutputs(told)) };
    });
    const page = new WalletPage(await browser.context.newPage());
    await routeRpc(page.page, tn.net.rpcUrl, lie);
    // A key of this test's own: the one an earlier test kept is forgotten.
    await page.open(node);
    await page.page.evaluate("localStorage.clear()");
    await page.page.reload();
    await page.createLocalWallet(PASSPHRASE);
    const id = "lamp-forged";
    await page.step(await page.submit("open", { id, item: ITEM }), "final");
    const close = await page.submit("close", { id });
    await page.step(close, "final");
    await page.step(close, /^public output refused: forged_outputs: /);
    // The keyless view refuses the same record the same way.
    const { problem } = await page.readOutputs(await page.batchOf(close));
    await problem.filter({ hasText: /^forged_outputs: / }).waitFor();
    assert.equal(await page.page.locator("output.public-output").count(), 0, "no forged output shown");
    assert.equal(await page.page.getByText(forger).count(), 0, "the forger's name is nowhere");
  });
});
