// The page: a wallet, an explorer, batches' public outputs and the operator's group view, one shown
// at a time (#wallet, #explorer, #outputs, #group), over the network profile the page uses (saved
// here, or the node's hint).
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { chainClient } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import { explorerView } from "./explorer.js";
import { groupView } from "./group.js";
import { homeNode } from "./home-node.js";
import {
  forgetProfile,
  type LoadedProfile,
  loadProfile,
  PROFILE_SOURCES,
  pinnedProfile,
  saveProfile,
} from "./profile.js";
import { outputsLookup } from "./public-outputs.js";
import { walletView } from "./wallet.js";
import "./style.css";

const VIEWS = ["wallet", "explorer", "outputs", "group"] as const;
type ViewName = (typeof VIEWS)[number];
/** Pages opened with `?app=NAME` chose the app before it came from the network; said, not obeyed. */
const RETIRED_APP_PARAM = "app";

/** The profile in use (none if the node gave no hint) and a form to paste another. */
function profileSection(loaded: LoadedProfile | undefined, node: string | undefined): HTMLElement {
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
  const reset = h("button", { type: "button" }, "forget the saved profile");
  reset.addEventListener("click", () => {
    forgetProfile();
    location.reload();
  });
  const hinted = loaded?.source === PROFILE_SOURCES.hint;
  return h(
    "details",
    { class: "profile", open: hinted },
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
          hinted ? { role: "alert", class: "warning" } : {},
          hinted
            ? `This page runs on the node's hint: the chain ${loaded.profile.chainId}, the contract ${loaded.profile.contract} and the RPC ${loaded.profile.rpcUrl} are what the node ${node} says. Everything else is checked on that chain, so a node that lies here points you at another network of its choosing. Paste your own network profile below, or serve the wallet from your own install (anonify wallet serve --network network.json).`
            : `RPC ${loaded.profile.rpcUrl}, deployed at block ${loaded.profile.deployedAtBlock}. The chain id and the enclave's key are checked on this chain, not taken from the node.`,
        )
      : null,
    form,
    problem,
    loaded?.source === PROFILE_SOURCES.saved ? reset : null,
  );
}

function start(main: HTMLElement, profile: NetworkProfile, node: string): void {
  const chain = chainClient(profile);
  const built = new Map<ViewName, HTMLElement>();
  const build = (name: ViewName): HTMLElement => {
    if (name === "explorer") return explorerView(profile, chain, node);
    if (name === "group") return groupView(node);
    if (name === "outputs") return outputsLookup(profile, node);
    return walletView({ profile, chain, node });
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
  if (new URLSearchParams(location.search).has(RETIRED_APP_PARAM))
    main.prepend(
      h(
        "p",
        { class: "warning", role: "note" },
        "?app= is no longer used: the wallet shows the app the network runs.",
      ),
    );
  show();
}

async function boot(): Promise<void> {
  const header = document.querySelector("header")!;
  const main = document.querySelector("main")!;
  let node: string | undefined;
  try {
    const pinned = await pinnedProfile();
    node = homeNode(pinned !== undefined);
    if (!node)
      throw new Error(
        "this page is served by your own install: add ?node=URL to its address, a node of your network",
      );
    const loaded = await loadProfile(pinned, node);
    header.append(profileSection(loaded, node));
    start(main, loaded.profile, node);
  } catch (error) {
    fill(main, h("p", { role: "alert" }, errorText(error)));
    header.append(profileSection(undefined, node));
  }
}

void boot();
