// The web wallet and explorer in a real browser (Debian's Chromium) against a devnet of two nodes:
// a local key made in one page is funded, transfers through the generated form and sees its
// command become final; the recipient's page, served by the other node, sees the balance change; a
// transfer above the balance shows its reason; a browser wallet (an injected EIP-1193 provider)
// signs in a second run; the explorer lists the batch and the members; and no request to a node
// carries a plaintext amount or address. Attacks on the page: a weak passphrase, a stored key whose
// iteration count was lowered, a key left unlocked, a node naming an enclave whose evidence does not
// verify, a node whose status is malformed.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Address } from "viem";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { CLI } from "../operators/operator-net.js";
import { registerFakeEnclave } from "../support/fake-enclave.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type LyingNode, startLyingNode } from "../support/proxy.js";
import { issueToken, type Token } from "../support/token.js";
import { until } from "../support/wait.js";
import { type Browser, launchChromium, NO_CHROMIUM } from "./chromium.js";
import { injectWallet } from "./injected-wallet.js";
import { recordRequests, requestsHolding, type SentRequest } from "./traffic.js";
import { WalletPage } from "./wallet-page.js";

// 13 digits or more, so that a scan of hex ciphertext for their decimal digits cannot hit by chance.
const FUNDED = 7_777_777_777_123n;
const SENT = 1_234_567_890_123n;
const TOO_MUCH = 9_999_999_999_999_999n;
const WALLET_FUNDED = 5_555_555_555_321n;
const WALLET_SENT = 2_222_222_222_321n;
const INSTALL_FUNDED = 3_333_333_333_217n;
const INSTALL_SENT = 1_111_111_111_217n;
const PASSPHRASE = "correct horse battery staple";
/** The idle time after which the test's page locks (`?lock-after=`, in seconds). */
const LOCK_AFTER_SECONDS = 3;
/** Where `ANONIFY_SCREENSHOTS=1` writes the README's pictures. */
const SCREENSHOTS = process.env.ANONIFY_SCREENSHOTS ? "docs" : undefined;

describe("web wallet and explorer in Chromium", { skip: NO_CHROMIUM }, () => {
  let tn: TestNet;
  let token: Token;
  const browsers: Browser[] = [];
  const proxies: LyingNode[] = [];
  const sent: SentRequest[] = [];
  const secrets: string[] = [
    FUNDED,
    SENT,
    TOO_MUCH,
    WALLET_FUNDED,
    WALLET_SENT,
    INSTALL_FUNDED,
    INSTALL_SENT,
  ].map(String);
  const children: ChildCommand<unknown>[] = [];
  let recipient: Address;
  let batch: string;

  const browser = async () => {
    const b = await launchChromium();
    browsers.push(b);
    const nodes = tn.net.nodes.map((n) => n.url);
    const recorded = recordRequests(b.context, nodes);
    return { ...b, flush: () => sent.push(...recorded.splice(0)) };
  };

  before(async () => {
    tn = await startTestNet(2);
    token = await issueToken(tn);
  });
  after(async () => {
    for (const b of browsers) await b.close();
    for (const p of proxies) await p.close();
    for (const c of children) await c.stop();
    await tn?.stop();
  });

  test("a local wallet is funded, transfers through the form, and the recipient's page at another node sees it", async () => {
    const { context, flush } = await browser();
    const sender = new WalletPage(await context.newPage());
    const receiver = new WalletPage(await context.newPage());
    await sender.open(tn.net.nodes[0]!.url);
    await receiver.open(tn.net.nodes[1]!.url);
    const from = await sender.createLocalWallet(PASSPHRASE);
    recipient = await receiver.createLocalWallet(PASSPHRASE);
    secrets.push(recipient.slice(2));
    await sender.waitForBalance(0n);
    await receiver.waitForBalance(0n);

    await token.fund(from, FUNDED);
    await sender.waitForBalance(FUNDED);

    const transfer = await sender.submit("transfer", { to: recipient, amount: SENT.toString() });
    for (const step of ["sealed", "accepted"]) await sender.step(transfer, step);
    batch = /batch (\d+)/.exec(await sender.step(transfer, /^ordered in batch \d+/))![1]!;
    await sender.step(transfer, "applied");
    await sender.step(transfer, "final");
    await sender.waitForBalance(FUNDED - SENT);
    await receiver.waitForBalance(SENT);
    // Each page names the chain point its balances reflect, which its client checked on chain.
    assert.match(await receiver.answersAt(), /^event \d+ \(block \d+\)/);

    const refused = await sender.submit("transfer", { to: recipient, amount: TOO_MUCH.toString() });
    await sender.step(refused, "failed: transfer amount exceeds balance");
    await sender.step(refused, "final");
    await sender.waitForBalance(FUNDED - SENT);
    if (SCREENSHOTS) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await sender.page.screenshot({ path: `${SCREENSHOTS}/wallet.png`, fullPage: true });
    }

    // The key stays in this browser, encrypted: a reload asks for the passphrase, and only the right one opens it.
    await sender.page.reload();
    await sender.unlock("not the passphrase");
    await sender.page.getByText("wrong passphrase", { exact: true }).waitFor();
    await sender.unlock(PASSPHRASE);
    assert.equal(await sender.address(), from);
    await sender.waitForBalance(FUNDED - SENT);
    flush();
  });

  test("the explorer lists the batch that carried the transfer, the current members and both nodes' sync state", async () => {
    const { context, flush } = await browser();
    const explorer = new WalletPage(await context.newPage());
    // Served by node 2, it reads node 1's status too (across origins: the node answers with CORS).
    await explorer.open(
      tn.net.nodes[1]!.url,
      "explorer",
      `?node=${encodeURIComponent(tn.net.nodes[0]!.url)}`,
    );
    const nodes = explorer.page.getByRole("table", { name: /^Nodes/ });
    for (const { url, address } of tn.net.nodes)
      await nodes
        .locator("tbody tr")
        .filter({ hasText: new URL(url).origin })
        .filter({ hasText: new RegExp(address, "i") })
        .filter({ hasText: "synced" })
        .waitFor();
    const batches = explorer.page.getByRole("table", { name: "Batches" });
    await batches.locator("tbody tr td:first-child").getByText(batch, { exact: true }).waitFor();
    const members = explorer.page.getByRole("table", { name: "Members" });
    for (const node of tn.running()) {
      const row = members.locator("tbody tr").filter({ hasText: new RegExp(node.address, "i") });
      await row.filter({ hasText: "member" }).filter({ hasText: "sim" }).waitFor();
    }
    // The group's first handshake (slot 0) is on chain.
    const handshakes = explorer.page.getByRole("table", { name: "Handshakes" });
    await handshakes.locator("tbody tr td:first-child").getByText("0", { exact: true }).waitFor();
    if (SCREENSHOTS) await explorer.page.screenshot({ path: `${SCREENSHOTS}/explorer.png`, fullPage: true });
    flush();
  });

  test("a browser wallet (injected EIP-1193 provider) signs the typed command the user reads", async () => {
    const { context, flush } = await browser();
    const account = await token.fundedAccount(WALLET_FUNDED);
    const prompted = await injectWallet(context, account);
    const page = new WalletPage(await context.newPage());
    await page.open(tn.net.nodes[1]!.url);
    await page.page.getByRole("button", { name: "connect browser wallet" }).click();
    assert.equal((await page.address()).toLowerCase(), account.address.toLowerCase());
    await page.waitForBalance(WALLET_FUNDED);
    // An explorer left open meanwhile shows the new batch without a reload: it updates live.
    const explorer = new WalletPage(await context.newPage());
    await explorer.open(tn.net.nodes[0]!.url, "explorer");
    const batches = explorer.page.getByRole("table", { name: "Batches" });
    await batches.locator("tbody tr td:first-child").getByText(batch, { exact: true }).waitFor();
    const transfer = await page.submitByKeyboard("transfer", [recipient, WALLET_SENT.toString()]);
    await page.step(transfer, "final");
    const carried = /batch (\d+)/.exec(await page.step(transfer, /^ordered in batch \d+/))![1]!;
    await batches.locator("tbody tr td:first-child").getByText(carried, { exact: true }).waitFor();
    await page.waitForBalance(WALLET_FUNDED - WALLET_SENT);
    const command = await until("the wallet's prompt for the transfer", () =>
      prompted.find((p) => p.primaryType === "Command" && p.message.command === "transfer"),
    );
    assert.deepEqual(JSON.parse(String(command.message.params)), {
      amount: WALLET_SENT.toString(),
      to: recipient,
    });
    flush();
  });

  test("the group view rotates the key with the node's admin token, and refuses a wrong one", async () => {
    const { context, flush } = await browser();
    const page = await context.newPage();
    const node = tn.net.nodes[0]!;
    await page.goto(`${node.url}/#group`);
    const epoch = async () =>
      Number(/MLS epoch (\d+)/.exec((await page.getByText(/MLS epoch \d+/).textContent()) ?? "")?.[1]);
    await page.getByText(/MLS epoch \d+/).waitFor();
    const before = await epoch();
    const token = page.getByLabel("admin token", { exact: true });
    await token.fill("0".repeat(64));
    await page.getByRole("button", { name: "rotate" }).click();
    await page.getByText(/^admin_token_wrong/).waitFor();
    await token.fill(readFileSync(node.adminToken, "utf8").trim());
    await page.getByRole("button", { name: "rotate" }).click();
    await page.getByText("rotation requested", { exact: true }).waitFor();
    await until("a new epoch in the group view", async () => ((await epoch()) > before ? true : undefined));
    flush();
  });

  test("a weak passphrase is refused, and a stored key whose iteration count was lowered is not unlocked", async () => {
    const { context, flush } = await browser();
    const page = new WalletPage(await context.newPage());
    await page.open(tn.net.nodes[0]!.url);
    await page.pressCreate("short");
    await page.page.getByText("a passphrase needs at least 12 characters (this one has 5)").waitFor();
    await page.pressCreate("ab".repeat(8));
    await page.page
      .getByText("a passphrase needs at least 5 different characters (this one has 2)")
      .waitFor();
    assert.equal(await page.storedKey(), null, "no key was stored under a weak passphrase");

    const address = await page.createLocalWallet(PASSPHRASE);
    // Whoever can write the origin's storage lowers the count, to make guessing the passphrase cheap.
    await page.tamperStoredKey({ iterations: 1 });
    await page.page.reload();
    await page.unlock(PASSPHRASE);
    await page.page
      .getByText(/^the stored key says 1 PBKDF2 iterations, below this wallet's floor/)
      .waitFor();
    assert.equal(await page.page.getByLabel("address", { exact: true }).count(), 0, "nothing was unlocked");
    // Restored, the same key opens again.
    await page.tamperStoredKey({ iterations: 600_000 });
    await page.unlock(PASSPHRASE);
    assert.equal(await page.address(), address);
    flush();
  });

  test("an unlocked key is forgotten after the idle time: the page asks for the passphrase again", async () => {
    const { context, flush } = await browser();
    const page = new WalletPage(await context.newPage());
    await page.open(tn.net.nodes[1]!.url, "wallet", `?lock-after=${LOCK_AFTER_SECONDS}`);
    const address = await page.createLocalWallet(PASSPHRASE);
    // Nobody touches the page: it locks, dropping the key, the client and everything they showed.
    await page.page.getByRole("form", { name: "unlock" }).waitFor();
    assert.equal(await page.page.getByLabel("address", { exact: true }).count(), 0);
    assert.equal(await page.page.getByRole("form", { name: /^command / }).count(), 0);
    await page.unlock(PASSPHRASE);
    assert.equal(await page.address(), address);
    flush();
  });

  test("the explorer labels each node's claims as that node's, and a malformed status blanks no on-chain table", async () => {
    const { context, flush } = await browser();
    // A node that answers its status with a member of the wrong type.
    const liar = await startLyingNode(tn.net.nodes[0]!.url, {
      "/v1/status": (s) => ({ ...s, members: [1] }),
    });
    proxies.push(liar);
    const honest = new URL(tn.net.nodes[1]!.url).origin;
    const explorer = new WalletPage(await context.newPage());
    // Served by the lying node: its status is the page's own node's word.
    await explorer.open(liar.url, "explorer", `?node=${encodeURIComponent(honest)}`);
    const batches = explorer.page.getByRole("table", { name: "Batches" });
    await batches.locator("tbody tr td:first-child").getByText(batch, { exact: true }).waitFor();
    const handshakes = explorer.page.getByRole("table", { name: "Handshakes" });
    await handshakes.locator("tbody tr td:first-child").getByText("0", { exact: true }).waitFor();
    const members = explorer.page.getByRole("table", { name: "Members" });
    for (const node of tn.running())
      await members
        .locator("tbody tr")
        .filter({ hasText: new RegExp(node.address, "i") })
        .filter({ hasText: `node ${honest} says member` })
        .waitFor();
    const nodes = explorer.page.getByRole("table", { name: /^Nodes/ });
    await nodes
      .locator("tbody tr")
      .filter({ hasText: liar.url })
      .filter({ hasText: /malformed answer: .*members\[0\]/ })
      .waitFor();
    assert.equal(
      await members.getByText(`node ${liar.url} says`).count(),
      0,
      "the malformed answer claims nothing",
    );
    // The group view of that node shows its answer as malformed, not a member named "1".
    await explorer.open(liar.url, "group");
    await explorer.page.getByText(/^this node's status is a malformed answer: .*members\[0\]/).waitFor();
    assert.equal(await explorer.page.getByRole("table", { name: "Group members" }).count(), 0);
    flush();
  });

  test("the wallet shows the verdict its client acted on, and refuses an enclave whose evidence does not verify, with the reason", async () => {
    const { context, flush } = await browser();
    const page = new WalletPage(await context.newPage());
    await page.open(tn.net.nodes[0]!.url);
    await page.createLocalWallet(PASSPHRASE);
    const verdict = await page.verdict();
    assert.match(verdict, new RegExp(tn.net.nodes[0]!.address, "i"));
    for (const shown of [
      /platform\s*simulated TEE/,
      /measurement\s*0x[0-9a-f]{64}/,
      /TCB status\s*Simulated/,
      /debug\s*yes/,
      /protects nothing/,
    ])
      assert.match(verdict, shown);

    // The contract's owner registers a fake enclave, and a node colluding with it names it.
    const fake = await registerFakeEnclave(tn);
    const liar = await startLyingNode(tn.net.nodes[0]!.url, {
      "/v1/enclave": (e) => ({ ...e, address: fake }),
    });
    proxies.push(liar);
    const lied = new WalletPage(await context.newPage());
    await lied.open(liar.url);
    await lied.pressCreate(PASSPHRASE);
    const refusal = lied.page.getByRole("alert").filter({ hasText: /refuses/ });
    await refusal.waitFor();
    const text = (await refusal.textContent()) ?? "";
    assert.match(text, new RegExp(`refuses the enclave that ${liar.url} names`));
    assert.match(text, new RegExp(`enclave ${fake} is refused`, "i"));
    assert.match(text, /its evidence does not verify/);
    assert.equal(await lied.page.getByRole("group", { name: "enclave verdict" }).count(), 0);
    assert.deepEqual(
      liar.requests.filter((r) => r.startsWith("POST")),
      [],
      "nothing was sent to the node",
    );
    flush();
  });

  test("served from the user's own install (anonify wallet serve), the wallet talks to a node of another origin on the pinned profile; a node's page says it runs on the node's hint", async () => {
    const served = await startChildCommand<{ url: string }>(CLI, [
      ...["wallet", "serve", "--network", tn.net.networkProfile, "--node", tn.net.nodes[0]!.url],
      ...["--port", "0", "--json"],
    ]);
    children.push(served);
    const { context, flush } = await browser();
    const page = new WalletPage(await context.newPage());
    await page.page.goto(`${served.ready.url}#wallet`);
    assert.notEqual(new URL(served.ready.url).origin, new URL(tn.net.nodes[0]!.url).origin);
    await page.page
      .getByText(/^Network: chain \d+, contract 0x[0-9a-fA-F]{40} \(pinned by this install\)$/)
      .waitFor();
    const address = await page.createLocalWallet(PASSPHRASE);
    assert.match(await page.verdict(), new RegExp(tn.net.nodes[0]!.address, "i"));
    await token.fund(address, INSTALL_FUNDED);
    await page.waitForBalance(INSTALL_FUNDED);
    const transfer = await page.submit("transfer", { to: recipient, amount: INSTALL_SENT.toString() });
    await page.step(transfer, "final");
    await page.waitForBalance(INSTALL_FUNDED - INSTALL_SENT);
    // The page a node serves, with nothing saved: the chain and contract are the node's word, and it says so.
    const hinted = await context.newPage();
    await hinted.goto(`${tn.net.nodes[1]!.url}/#wallet`);
    await hinted
      .getByRole("alert")
      .filter({ hasText: /^This page runs on the node's hint/ })
      .waitFor();
    flush();
  });

  test("no request to a node holds a plaintext amount or address parameter", () => {
    assert.ok(
      sent.some((r) => r.method === "POST" && r.url.includes("/v1/commands")),
      "the pages sent commands",
    );
    assert.deepEqual(requestsHolding(sent, secrets), []);
  });
});
