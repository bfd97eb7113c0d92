// The wallet page as a user drives it: by labels and button names (what the page promises to give
// every input and command), waiting on what the page shows.
import type { Locator, Page } from "playwright-core";
import type { Address } from "viem";

/** Where the page keeps its encrypted key (web/src/keystore.ts). */
const STORED_KEY = "anonify.key";

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

export class WalletPage {
  constructor(readonly page: Page) {}

  /** Opens the page a node serves; `query` is its search part (e.g. `?node=URL`). */
  async open(node: string, view = "wallet", query = ""): Promise<void> {
    await this.page.goto(`${node}/${query}#${view}`);
  }

  /** Creates a local key under `passphrase`; returns the address the page shows. */
  async createLocalWallet(passphrase: string): Promise<Address> {
    await this.pressCreate(passphrase);
    return this.address();
  }

  /** Asks for a new local key under `passphrase`, whatever the page then says. */
  async pressCreate(passphrase: string): Promise<void> {
    await this.page.getByLabel("passphrase", { exact: true }).fill(passphrase);
    await this.page.getByRole("button", { name: "create wallet" }).click();
  }

  /** The encrypted key this browser keeps (JSON), or null. As text: the test's types have no DOM. */
  storedKey(): Promise<string | null> {
    return this.page.evaluate(`localStorage.getItem(${JSON.stringify(STORED_KEY)})`);
  }

  /** Changes the encrypted key this browser keeps, as anything that can write the origin's storage could. */
  async tamperStoredKey(changes: Record<string, unknown>): Promise<void> {
    const key = JSON.stringify(STORED_KEY);
    await this.page.evaluate(
      `localStorage.setItem(${key}, JSON.stringify({ ...JSON.parse(localStorage.getItem(${key})), ...${JSON.stringify(changes)} }))`,
    );
  }

  /** The verdict on the enclave the page's client acted on, once it is shown. */
  async verdict(): Promise<string> {
    const verdict = this.page.getByRole("group", { name: "enclave verdict" });
    await verdict.waitFor();
    return (await verdict.textContent()) ?? "";
  }

  /** Unlocks the key this browser keeps (after a reload, say) with `passphrase`. */
  async unlock(passphrase: string): Promise<void> {
    await this.page.getByLabel("passphrase", { exact: true }).fill(passphrase);
    await this.page.getByRole("button", { name: "unlock" }).click();
  }

  async address(): Promise<Address> {
    const output = this.page.getByLabel("address", { exact: true });
    await output.filter({ hasText: /^0x[0-9a-fA-F]{40}$/ }).waitFor();
    return (await output.textContent()) as Address;
  }

  /** Waits until the balance shown next to the label `balance` is `value`. */
  async waitForBalance(value: bigint): Promise<void> {
    await this.page
      .getByLabel("balance", { exact: true })
      .filter({ hasText: exactly(value.toString()) })
      .waitFor();
  }

  /** The chain point the balances reflect, as the page shows it ("event N (block B)…"). */
  async answersAt(): Promise<string> {
    return (await this.page.getByLabel("as of", { exact: true }).textContent()) ?? "";
  }

  /** Fills the command's form (inputs labelled by parameter name), presses its button; returns its progress entry. */
  async submit(command: string, params: Record<string, string>): Promise<Locator> {
    const form = this.page.getByRole("form", { name: `command ${command}`, exact: true });
    for (const [name, value] of Object.entries(params))
      await form.getByLabel(name, { exact: true }).fill(value);
    const before = await this.page.locator("li.command").count();
    await form.getByRole("button", { name: command, exact: true }).press("Enter");
    await this.page.locator("li.command").nth(before).waitFor();
    return this.page.locator("li.command").first();
  }

  /**
   * The same from the keyboard only: focus the command's first input, type each value and Tab to
   * the next, Enter to submit.
   */
  async submitByKeyboard(command: string, values: readonly string[]): Promise<Locator> {
    const form = this.page.getByRole("form", { name: `command ${command}`, exact: true });
    await form.getByRole("textbox").first().focus();
    for (const [i, value] of values.entries()) {
      if (i > 0) await this.page.keyboard.press("Tab");
      await this.page.keyboard.type(value);
    }
    const before = await this.page.locator("li.command").count();
    await this.page.keyboard.press("Enter");
    await this.page.locator("li.command").nth(before).waitFor();
    return this.page.locator("li.command").first();
  }

  /** The result a command's receipt carried, as its progress entry shows it (once shown). */
  async commandResult(entry: Locator): Promise<Locator> {
    const result = entry.locator("output.result");
    await result.waitFor();
    return result;
  }

  /**
   * Fills a query's form (of the signed queries, or of the public results), presses its button and
   * returns its result's output, which the answer fills (or its form's alert, a refusal).
   */
  async ask(query: string, params: Record<string, string>): Promise<{ result: Locator; problem: Locator }> {
    const form = this.page.getByRole("form", { name: `query ${query}`, exact: true });
    for (const [name, value] of Object.entries(params))
      await form.getByLabel(name, { exact: true }).fill(value);
    await form.getByRole("button", { name: query, exact: true }).press("Enter");
    return { result: form.getByLabel(`${query} result`, { exact: true }), problem: form.getByRole("alert") };
  }

  /** A record shown as a definition list in `output` (result-view.ts): each name and its value's text. */
  async definitions(output: Locator): Promise<Record<string, string>> {
    await output.locator(":scope > dl").waitFor();
    const names = await output.locator(":scope > dl > dt").allTextContents();
    const values = await output.locator(":scope > dl > dd").allTextContents();
    return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
  }

  /** The batch that ordered a command, as its progress entry names it ("ordered in batch N (block B)"). */
  async batchOf(entry: Locator): Promise<bigint> {
    const text = await this.step(entry, /^ordered in batch \d+/);
    return BigInt(/^ordered in batch (\d+)/.exec(text)![1]!);
  }

  /**
   * Reads batch `batch`'s public outputs in the page's "public outputs" view (which asks no key):
   * returns where the outputs show (one `output.public-output` per command) and where a refusal does.
   */
  async readOutputs(batch: bigint | string): Promise<{ outputs: Locator; problem: Locator }> {
    await this.page.getByRole("link", { name: "public outputs" }).click();
    const form = this.page.getByRole("form", { name: "public outputs", exact: true });
    await form.getByLabel("batch", { exact: true }).fill(batch.toString());
    await form.getByRole("button", { name: "read outputs", exact: true }).press("Enter");
    const result = this.page.locator("#outputs-result");
    return { outputs: result.locator("output.public-output"), problem: result.getByRole("alert") };
  }

  /** Waits for a step of a command's progress; returns its text. */
  async step(entry: Locator, text: string | RegExp): Promise<string> {
    const step = entry
      .locator(".steps li")
      .filter({ hasText: typeof text === "string" ? exactly(text) : text });
    await step.waitFor();
    return (await step.textContent()) ?? "";
  }
}
