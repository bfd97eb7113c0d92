// The wallet: a local key (kept encrypted under a passphrase) or a browser wallet (EIP-1193), the
// account's address, what the app's parameterless queries return (the balance), and a form for each
// command and query of the app the network runs (app-choice.ts), its public queries apart. Commands
// are signed, sealed and their receipts opened here, by the SDK's own client
// (src/client/anonify-client.ts): the node sees only ciphertext; what a command the app declares
// publishing put on chain is shown under it, checked (public-outputs.ts). A local key locks itself
// after a while without the user (idle-lock.ts).
import { isHex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { App } from "../../src/app/app.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import type { ChainClient } from "../../src/client/chain-client.js";
import {
  defaultPolicyName,
  ENCLAVE_POLICIES,
  type EnclavePolicyName,
} from "../../src/client/enclave-policy.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { appText, nodeApp, pageApp } from "./app-choice.js";
import { nextBlock, watchBatches } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import { refusalView, verdictView } from "./enclave-verdict.js";
import { schemaForm } from "./forms.js";
import { durationText, idleLockMs, lockWhenIdle } from "./idle-lock.js";
import { injectedAccount, injectedProvider } from "./injected-account.js";
import { forgetKey, PASSPHRASE_RULE, storedAddress, storeKey, unlockKey } from "./keystore.js";
import { progressItem, track } from "./progress.js";
import { commandOutput } from "./public-outputs.js";
import { positionText, queryForms, queryKinds } from "./query-forms.js";
import { valueView } from "./result-view.js";

/** How a parameterless query is labelled when its name is not the word people look for. */
const QUERY_LABELS: Readonly<Record<string, string>> = { balanceOf: "balance", totalSupply: "total supply" };

export type WalletContext = { profile: NetworkProfile; chain: ChainClient; node: string };

/** How soon answers behind the chain are asked again (the node is applying what the chain ordered). */
const BEHIND_RETRY_MS = 500;

/** "0x" and 32 bytes as hex. */
const PRIVATE_KEY_HEX_LENGTH = 66;

/** A required input of the account forms, never filled in by the browser. */
const secretInput = (id: string) => h("input", { id, type: "password", required: true, autocomplete: "off" });

export function walletView(ctx: WalletContext): HTMLElement {
  const status = h("div", { role: "status" });
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

  // The policy the client applies, named here so that the page shows the one it used.
  const policy = defaultPolicyName(ctx.profile.chainId);
  const lockMs = idleLockMs();
  const showAccountForms = () => fill(account, ...accountForms(use, status));
  const use = async (signer: LocalAccount, kind: "local" | "injected") => {
    fill(status, "connecting…");
    try {
      // No app named: the client takes the one the network runs, as the chain confirms it.
      const client = await AnonifyClient.connect({
        network: ctx.profile,
        node: ctx.node,
        account: signer,
        enclavePolicy: ENCLAVE_POLICIES[policy],
        fetch: (input, init) => fetch(input, init),
      });
      const choice = pageApp(client.appIdentity);
      fill(account);
      if (!choice.app) {
        fill(status, h("p", { role: "alert" }, choice.problem));
        return;
      }
      fill(status, choice.warning ? h("p", { class: "warning", role: "alert" }, choice.warning) : null);
      const shown = connected(ctx, client, choice.app, kind, policy);
      fill(body, ...shown.parts);
      // A browser wallet keeps its key (and its own lock): this page holds nothing of it to forget.
      // Forgetting is dropping every reference to the key and the client (JavaScript cannot wipe a
      // string); a command still in flight holds them until it settles.
      if (kind === "local")
        lockWhenIdle(lockMs, () => {
          shown.stop();
          fill(body);
          showAccountForms();
          fill(status, `locked after ${durationText(lockMs)} without activity: the key is forgotten`);
        });
    } catch (error) {
      fill(status, refusalView(error, ctx.node) ?? errorText(error));
      showAccountForms();
    }
  };
  // The node names its app before anyone makes a key: an app this page does not know is said at once.
  fill(status, "asking the node which app its network runs…");
  nodeApp(ctx.node).then(
    (runs) => {
      const choice = pageApp(runs);
      if (choice.app) {
        fill(status);
        showAccountForms();
      } else fill(status, h("p", { role: "alert" }, choice.problem));
    },
    // Connecting asks again, and says what is wrong in the client's words.
    () => {
      fill(status);
      showAccountForms();
    },
  );
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
    const rule = h("p", { class: "hint" }, `A passphrase of ${PASSPHRASE_RULE}.`);
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
    forms.push(rule, create, imported);
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

/** The connected account: address, enclave verdict, balances, forms, progress; `stop` ends its watching. */
function connected(
  ctx: WalletContext,
  client: AnonifyClient,
  app: App,
  kind: "local" | "injected",
  policy: EnclavePolicyName,
): { parts: HTMLElement[]; stop: () => void } {
  const { values: simple, asked, published } = queryKinds(app);
  const outputs = new Map(simple.map((q) => [q, h("output", { id: `query-${q}` }, "…")]));
  // The point the answers reflect, as the client checked it on chain (event, block, state digest).
  const asOf = h("output", { id: "answers-at" }, "");
  // The node answers from what it has applied: at a new batch it may not have applied it yet (and
  // an idle devnet mines no block to tell the page again), so answers behind the chain's newest
  // event are asked again a moment later, until they reflect it.
  let again: ReturnType<typeof setTimeout> | undefined;
  const refresh = async () => {
    clearTimeout(again);
    let behind = false;
    for (const [name, output] of outputs) {
      try {
        const { result, at } = await client.queryAt(name, {});
        fill(output, valueView(result));
        asOf.textContent = positionText(at);
        if (at.behind > 0n) behind = true;
      } catch (error) {
        output.textContent = errorText(error);
      }
    }
    // A browser wallet would prompt again: only a local key asks by itself.
    if (behind && !stopped && kind === "local") again = setTimeout(() => void refresh(), BEHIND_RETRY_MS);
  };
  const refreshButton = h("button", { type: "button" }, "refresh");
  refreshButton.addEventListener("click", () => void refresh());
  // A browser wallet would prompt for every query: it refreshes when asked, a local key at each batch.
  const unwatch = kind === "local" ? watchBatches(ctx.chain, ctx.profile, () => void refresh()) : () => {};
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(again);
    unwatch();
  };
  if (kind === "injected") void refresh();

  const progress = h("ol", { class: "progress", "aria-live": "polite", "aria-label": "commands" });
  const commandForms = Object.entries(app.commands).map(([name, { params, publishes }]) =>
    schemaForm("command", name, params, async (values) => {
      const steps = progressItem(progress, `${name} ${JSON.stringify(values)}`);
      const receipt = await track(client, name, values, steps, () => nextBlock(ctx.chain));
      if (!receipt) return;
      // What the command published comes a few blocks after its batch: shown when it does. Only a
      // command the app declares publishing has any (src/app/app.ts): no other is looked for.
      if (publishes === true)
        void commandOutput(steps, receipt, (batch, from) => client.publicOutputs(batch, from));
      await refresh();
    }),
  );
  const signedForms = queryForms(app, asked, (name, params) => client.queryAt(name, params), "query");
  const publicForms = queryForms(
    app,
    published,
    (name, params) => client.publicQuery(name, params),
    "public",
  );
  const parts = [
    h(
      "p",
      {},
      h("label", { for: "account-address" }, "address"),
      " ",
      h("output", { id: "account-address" }, client.address),
    ),
    h(
      "p",
      {},
      h("label", { for: "network-app" }, "app"),
      " ",
      h("output", { id: "network-app" }, appText(client.appIdentity)),
    ),
    verdictView(client, policy),
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
    ...(signedForms.length ? [h("h2", {}, "Queries"), h("div", { class: "forms" }, ...signedForms)] : []),
    // Answers the app gives to anyone: asked without this account's signature.
    ...(publicForms.length
      ? [h("h2", {}, "Public results"), h("div", { class: "forms public" }, ...publicForms)]
      : []),
  ];
  return { parts, stop };
}
