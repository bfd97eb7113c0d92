// The wallet: a local key (kept encrypted under a passphrase) or a browser wallet (EIP-1193), the
// account's address, what the app's parameterless queries return (the balance), and a form for each
// command and query of the app. Commands are signed, sealed and their receipts opened here, by the
// SDK's own client (src/client/anonify-client.ts): the node sees only ciphertext.
import { isHex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { App } from "../../src/app/app.js";
import { AnonifyClient, type AnswerPosition } from "../../src/client/anonify-client.js";
import type { ChainClient } from "../../src/client/chain-client.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { nextBlock, watchBatches } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import { schemaForm } from "./forms.js";
import { injectedAccount, injectedProvider } from "./injected-account.js";
import { forgetKey, storedAddress, storeKey, unlockKey } from "./keystore.js";
import { progressItem, track } from "./progress.js";

/** How a parameterless query is labelled when its name is not the word people look for. */
const QUERY_LABELS: Readonly<Record<string, string>> = { balanceOf: "balance", totalSupply: "total supply" };

export type WalletContext = { profile: NetworkProfile; chain: ChainClient; app: App; node: string };

/** "0x" and 32 bytes as hex. */
const PRIVATE_KEY_HEX_LENGTH = 66;

/** A required input of the account forms, never filled in by the browser. */
const secretInput = (id: string) => h("input", { id, type: "password", required: true, autocomplete: "off" });

export function walletView(ctx: WalletContext): HTMLElement {
  const status = h("p", { role: "status" });
  const account = h("div");
  const body = h("div");
  const view = h(
    "section",
    { "aria-labelledby": "wallet-title" },
    h("h2", { id: "wallet-title" }, "Wallet"),
    account,
    status,
    body,
  );

  const use = async (signer: LocalAccount, kind: "local" | "injected") => {
    status.textContent = "connecting…";
    try {
      const client = await AnonifyClient.connect({
        network: ctx.profile,
        node: ctx.node,
        account: signer,
        app: ctx.app.name,
        fetch: (input, init) => fetch(input, init),
      });
      status.textContent = "";
      fill(account);
      fill(body, ...connected(ctx, client, kind));
    } catch (error) {
      status.textContent = errorText(error);
    }
  };
  fill(account, ...accountForms(use, status));
  return view;
}

/** Create, import or unlock a local key; or connect a browser wallet. */
function accountForms(
  use: (signer: LocalAccount, kind: "local" | "injected") => Promise<void>,
  status: HTMLElement,
): HTMLElement[] {
  const guarded = (work: () => Promise<void>) => async () => {
    try {
      await work();
    } catch (error) {
      status.textContent = errorText(error);
    }
  };
  const forms: HTMLElement[] = [];
  const stored = storedAddress();
  if (stored) {
    const pass = secretInput("unlock-passphrase");
    const unlock = labelledForm(
      "unlock",
      [{ label: "passphrase", input: pass }],
      "unlock",
      guarded(async () => use(privateKeyToAccount(await unlockKey(pass.value)), "local")),
      `Key ${stored}`,
    );
    const forget = h("button", { type: "button" }, "forget key");
    forget.addEventListener("click", () => {
      forgetKey();
      location.reload();
    });
    forms.push(unlock, forget);
  } else {
    const pass = secretInput("new-passphrase");
    const create = labelledForm(
      "create wallet",
      [{ label: "passphrase", input: pass }],
      "create wallet",
      guarded(async () => use(privateKeyToAccount(await storeKey(pass.value)), "local")),
      "New local key",
    );
    const key = secretInput("import-key");
    const importPass = secretInput("import-passphrase");
    const imported = labelledForm(
      "import key",
      [
        { label: "private key", input: key },
        { label: "passphrase for the imported key", input: importPass },
      ],
      "import key",
      guarded(async () => {
        const hex = key.value.trim();
        const privateKey = hex.startsWith("0x") ? hex : `0x${hex}`;
        if (!isHex(privateKey) || privateKey.length !== PRIVATE_KEY_HEX_LENGTH)
          throw new Error("a private key is 32 bytes of hex");
        await use(privateKeyToAccount(await storeKey(importPass.value, privateKey)), "local");
      }),
      "Import a key",
    );
    forms.push(create, imported);
  }
  const provider = injectedProvider();
  if (provider) {
    const connect = h("button", { type: "button" }, "connect browser wallet");
    connect.addEventListener(
      "click",
      guarded(async () => use(await injectedAccount(provider), "injected")),
    );
    forms.push(h("p", {}, connect));
  }
  return forms;
}

/** Where an answer stands on the chain, for people. */
function positionText(at: AnswerPosition): string {
  const behind = at.behind > 0n ? `, ${at.behind} events behind (${at.lagSeconds} s)` : "";
  return `event ${at.seq} (block ${at.block})${behind}`;
}

/** The connected account: address, enclave, balances, forms, progress. */
function connected(ctx: WalletContext, client: AnonifyClient, kind: "local" | "injected"): HTMLElement[] {
  const queries = ctx.app.queries;
  const commands = ctx.app.commands;
  const simple = Object.keys(queries).filter((q) => Object.keys(queries[q]!.params.fields).length === 0);
  const outputs = new Map(simple.map((q) => [q, h("output", { id: `query-${q}` }, "…")]));
  // The point the answers reflect, as the client checked it on chain (event, block, state digest).
  const asOf = h("output", { id: "answers-at" }, "");
  const refresh = async () => {
    for (const [name, output] of outputs) {
      try {
        const { result, at } = await client.queryAt(name, {});
        output.textContent = String(result);
        asOf.textContent = positionText(at);
      } catch (error) {
        output.textContent = errorText(error);
      }
    }
  };
  const refreshButton = h("button", { type: "button" }, "refresh");
  refreshButton.addEventListener("click", () => void refresh());
  // A browser wallet would prompt for every query: it refreshes when asked, a local key at each batch.
  if (kind === "local") watchBatches(ctx.chain, ctx.profile, () => void refresh());
  else void refresh();

  const progress = h("ol", { class: "progress", "aria-live": "polite", "aria-label": "commands" });
  const commandForms = Object.entries(commands).map(([name, { params }]) =>
    schemaForm("command", name, params, async (values) => {
      const steps = progressItem(progress, `${name} ${JSON.stringify(values)}`);
      const receipt = await track(client, name, values, steps, () => nextBlock(ctx.chain));
      if (receipt) await refresh();
    }),
  );
  const queryForms = Object.entries(queries)
    .filter(([name]) => !simple.includes(name))
    .map(([name, { params }]) => {
      const result = h("output", { id: `query-${name}-result`, "aria-live": "polite" });
      const form = schemaForm("query", name, params, async (values) => {
        const answer = await client.queryAt(name, values);
        result.textContent = String(answer.result);
        result.title = positionText(answer.at);
      });
      form.append(h("p", {}, h("label", { for: result.id }, `${name} result`), " ", result));
      return form;
    });
  return [
    h(
      "p",
      {},
      h("label", { for: "account-address" }, "address"),
      " ",
      h("output", { id: "account-address" }, client.address),
    ),
    h("p", { class: "enclave" }, `served by ${client.describeEnclave()}`),
    ...client.warnings.map((w) => h("p", { class: "warning", role: "note" }, w)),
    h(
      "dl",
      { class: "balances" },
      ...simple.flatMap((q) => [
        h("dt", {}, h("label", { for: `query-${q}` }, QUERY_LABELS[q] ?? q)),
        h("dd", {}, outputs.get(q)),
      ]),
    ),
    h("p", { class: "as-of" }, h("label", { for: "answers-at" }, "as of"), " ", asOf),
    refreshButton,
    h("h2", {}, "Commands"),
    h("div", { class: "forms" }, ...commandForms),
    h("h2", {}, "Progress"),
    progress,
    ...(queryForms.length ? [h("h2", {}, "Queries"), h("div", { class: "forms" }, ...queryForms)] : []),
  ];
}
