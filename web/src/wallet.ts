// The wallet: a local key (kept encrypted under a passphrase) or a browser wallet (EIP-1193), the
// account's address, what the app's parameterless queries return (the balance), and a form for each
// command and query of the app. Commands are signed, sealed and their receipts opened here, by the
// SDK's own client (src/client/anonify-client.ts): the node sees only ciphertext. A local key locks
// itself after a while without the user (idle-lock.ts).
import { isHex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { App } from "../../src/app/app.js";
import { AnonifyClient, type AnswerPosition } from "../../src/client/anonify-client.js";
import type { ChainClient } from "../../src/client/chain-client.js";
import {
  defaultPolicyName,
  ENCLAVE_POLICIES,
  type EnclavePolicyName,
} from "../../src/client/enclave-policy.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { nextBlock, watchBatches } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import { refusalView, verdictView } from "./enclave-verdict.js";
import { schemaForm } from "./forms.js";
import { durationText, idleLockMs, lockWhenIdle } from "./idle-lock.js";
import { injectedAccount, injectedProvider } from "./injected-account.js";
import { forgetKey, PASSPHRASE_RULE, storedAddress, storeKey, unlockKey } from "./keystore.js";
import { progressItem, track } from "./progress.js";

/** How a parameterless query is labelled when its name is not the word people look for. */
const QUERY_LABELS: Readonly<Record<string, string>> = { balanceOf: "balance", totalSupply: "total supply" };

export type WalletContext = { profile: NetworkProfile; chain: ChainClient; app: App; node: string };

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
      const client = await AnonifyClient.connect({
        network: ctx.profile,
        node: ctx.node,
        account: signer,
        app: ctx.app.name,
        enclavePolicy: ENCLAVE_POLICIES[policy],
        fetch: (input, init) => fetch(input, init),
      });
      fill(status);
      fill(account);
      const shown = connected(ctx, client, kind, policy);
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
  showAccountForms();
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

/** Where an answer stands on the chain, for people. */
function positionText(at: AnswerPosition): string {
  const behind = at.behind > 0n ? `, ${at.behind} events behind (${at.lagSeconds} s)` : "";
  return `event ${at.seq} (block ${at.block})${behind}`;
}

/** The connected account: address, enclave verdict, balances, forms, progress; `stop` ends its watching. */
function connected(
  ctx: WalletContext,
  client: AnonifyClient,
  kind: "local" | "injected",
  policy: EnclavePolicyName,
): { parts: HTMLElement[]; stop: () => void } {
  const queries = ctx.app.queries;
  const commands = ctx.app.commands;
  const simple = Object.keys(queries).filter((q) => Object.keys(queries[q]!.params.fields).length === 0);
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
        output.textContent = String(result);
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
  const parts = [
    h(
      "p",
      {},
      h("label", { for: "account-address" }, "address"),
      " ",
      h("output", { id: "account-address" }, client.address),
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
    ...(queryForms.length ? [h("h2", {}, "Queries"), h("div", { class: "forms" }, ...queryForms)] : []),
  ];
  return { parts, stop };
}
