// The page: a wallet, an explorer and the operator's group view, one shown at a time (#wallet,
// #explorer, #group), over the network profile the page uses (saved here, or the node's hint).
import { appNamed } from "../../apps/index.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { chainClient } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import { explorerView } from "./explorer.js";
import { groupView } from "./group.js";
import { forgetProfile, type LoadedProfile, loadProfile, saveProfile } from "./profile.js";
import { walletView } from "./wallet.js";
import "./style.css";

const VIEWS = ["wallet", "explorer", "group"] as const;
type ViewName = (typeof VIEWS)[number];
/** The app the nodes run, unless the page is opened with `?app=NAME`. */
const DEFAULT_APP = "erc20";

/** The profile in use (none if the node gave no hint) and a form to paste another. */
function profileSection(loaded: LoadedProfile | undefined): HTMLElement {
  const text = h("textarea", { id: "profile-text", rows: "6", cols: "60" });
  const problem = h("p", { role: "alert" });
  const form = labelledForm(
    "network profile",
    [{ label: "network profile (network.json)", input: text }],
    "use profile",
    () => {
      try {
        saveProfile(text.value);
        location.reload();
      } catch (error) {
        problem.textContent = errorText(error);
      }
    },
  );
  const reset = h("button", { type: "button" }, "use the node's hint");
  reset.addEventListener("click", () => {
    forgetProfile();
    location.reload();
  });
  return h(
    "details",
    { class: "profile" },
    h(
      "summary",
      {},
      loaded
        ? `Network: chain ${loaded.profile.chainId}, contract ${loaded.profile.contract} (${loaded.source})`
        : "Network: none",
    ),
    loaded
      ? h(
          "p",
          {},
          `RPC ${loaded.profile.rpcUrl}, deployed at block ${loaded.profile.deployedAtBlock}. The chain id and the enclave's key are checked on this chain, not taken from the node.`,
        )
      : null,
    form,
    problem,
    loaded?.source === "saved in this browser" ? reset : null,
  );
}

function start(main: HTMLElement, profile: NetworkProfile): void {
  const chain = chainClient(profile);
  const appName = new URLSearchParams(location.search).get("app") ?? DEFAULT_APP;
  const app = appNamed(appName);
  const built = new Map<ViewName, HTMLElement>();
  const build = (name: ViewName): HTMLElement => {
    if (name === "explorer") return explorerView(profile, chain);
    if (name === "group") return groupView();
    if (!app) return h("p", { role: "alert" }, `this page does not know the app ${appName}`);
    return walletView({ profile, chain, app, node: location.origin });
  };
  const show = () => {
    const name = (VIEWS as readonly string[]).includes(location.hash.slice(1))
      ? (location.hash.slice(1) as ViewName)
      : "wallet";
    if (!built.has(name)) {
      const view = build(name);
      built.set(name, view);
      main.append(view);
    }
    for (const [n, view] of built) view.hidden = n !== name;
    for (const link of document.querySelectorAll("nav a"))
      link.toggleAttribute("aria-current", link.getAttribute("href") === `#${name}`);
  };
  window.addEventListener("hashchange", show);
  show();
}

async function boot(): Promise<void> {
  const header = document.querySelector("header")!;
  const main = document.querySelector("main")!;
  try {
    const loaded = await loadProfile();
    header.append(profileSection(loaded));
    start(main, loaded.profile);
  } catch (error) {
    fill(main, h("p", { role: "alert" }, errorText(error)));
    header.append(profileSection(undefined));
  }
}

void boot();
