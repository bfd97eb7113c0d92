// The network profile the page uses: one the user saved in this browser, else the one this page's
// install pins (`anonify wallet serve` serves the user's own file at /network.json), else the hint
// the node gives at `GET /v1/network`, which the page then says loudly it runs on. It is only where
// to look: the SDK checks the chain id against the RPC and reads the enclave's key and registration
// from the contract, never from a node.
import {
  type NetworkProfile,
  PINNED_PROFILE_PATH,
  parseNetworkProfile,
} from "../../src/client/network-profile-format.js";

const STORAGE_KEY = "anonify.network";
const HINT_PATH = "/v1/network";

export const PROFILE_SOURCES = {
  saved: "saved in this browser",
  pinned: "pinned by this install",
  hint: "the node's hint",
} as const;
type ProfileSource = (typeof PROFILE_SOURCES)[keyof typeof PROFILE_SOURCES];

export type LoadedProfile = { profile: NetworkProfile; source: ProfileSource };

/** The profile the user's own install serves (`anonify wallet serve`), or undefined on a node's page. */
export async function pinnedProfile(): Promise<NetworkProfile | undefined> {
  const res = await fetch(PINNED_PROFILE_PATH).catch(() => undefined);
  if (!res?.ok || !res.headers.get("content-type")?.startsWith("application/json")) return undefined;
  return parseNetworkProfile(await res.json(), "pinned profile");
}

/** The profile to use: saved here, else the install's, else the hint of the page's `node`. */
export async function loadProfile(pinned: NetworkProfile | undefined, node: string): Promise<LoadedProfile> {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved)
    return {
      profile: parseNetworkProfile(JSON.parse(saved), "saved profile"),
      source: PROFILE_SOURCES.saved,
    };
  if (pinned) return { profile: pinned, source: PROFILE_SOURCES.pinned };
  const res = await fetch(new URL(HINT_PATH, node));
  if (!res.ok) throw new Error(`the node gives no network hint (${res.status}); paste a network profile`);
  return { profile: parseNetworkProfile(await res.json(), "node hint"), source: PROFILE_SOURCES.hint };
}

/** Saves a profile the user pasted (the text of a `network.json`), after checking it. */
export function saveProfile(text: string): NetworkProfile {
  const profile = parseNetworkProfile(JSON.parse(text), "pasted profile");
  localStorage.setItem(STORAGE_KEY, text);
  return profile;
}

export function forgetProfile(): void {
  localStorage.removeItem(STORAGE_KEY);
}
