// The network profile the page uses: one the user saved in this browser, else the hint the serving
// node gives at `GET /v1/network`. Either way it is only where to look: the SDK checks the chain id
// against the RPC and reads the enclave's key and registration from the contract, never from a node.
import { type NetworkProfile, parseNetworkProfile } from "../../src/client/network-profile-format.js";

const STORAGE_KEY = "anonify.network";
const HINT_PATH = "/v1/network";

export type LoadedProfile = { profile: NetworkProfile; source: "saved in this browser" | "node hint" };

export async function loadProfile(): Promise<LoadedProfile> {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved)
    return {
      profile: parseNetworkProfile(JSON.parse(saved), "saved profile"),
      source: "saved in this browser",
    };
  const res = await fetch(HINT_PATH);
  if (!res.ok) throw new Error(`the node gives no network hint (${res.status}); paste a network profile`);
  return { profile: parseNetworkProfile(await res.json(), "node hint"), source: "node hint" };
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
