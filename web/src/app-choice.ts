// Which app the wallet shows: the one the network runs, never one the page is told to assume. The
// node names it in `/v1/status` before anyone has a key (so a page that does not know it says so at
// once), and the SDK's client confirms it on chain when it connects (the enclave registered that
// app's id), which is the one the wallet then uses. The page has the definitions of the apps it was
// built with (apps/index.ts): for any other it can only say which app that is and what to do.
import { APPS, appNamed } from "../../apps/index.js";
import type { App } from "../../src/app/app.js";
import type { AnonifyClient } from "../../src/client/anonify-client.js";
import { NODE_STATUS, nodeJson } from "../../src/client/node-api.js";

/** An app as the network names it: name, code hash, state version (the client's `appIdentity`). */
type AppIdentity = AnonifyClient["appIdentity"];

/** A state version an app that declares none has (src/app/app.ts). */
const DEFAULT_STATE_VERSION = 1;

/** The app the node says its enclave runs (its word: the client checks it on chain at connect). */
export async function nodeApp(node: string): Promise<AppIdentity> {
  const status = await nodeJson((input, init) => fetch(input, init), node, "/v1/status", NODE_STATUS);
  return status.app;
}

/** "auction v1 (code hash 0x…)". */
export const appText = (app: AppIdentity): string =>
  `${app.name} v${app.stateVersion} (code hash ${app.codeHash})`;

const knownNames = (): string => {
  const names = Object.keys(APPS);
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names.join("");
};

export type AppChoice = { app: App; warning?: string } | { app?: undefined; problem: string };

/**
 * The definition this page has of the app the network runs, with a warning if the page's is of
 * another state version (its forms may not fit); or why it has none, in words for the user.
 */
export function pageApp(runs: AppIdentity): AppChoice {
  const app = appNamed(runs.name);
  if (!app)
    return {
      problem:
        `This network runs ${appText(runs)}; this page knows ${knownNames()}: rebuild the wallet ` +
        `with that app in apps/, or serve a wallet that includes it (anonify wallet serve).`,
    };
  const version = app.stateVersion ?? DEFAULT_STATE_VERSION;
  if (version === runs.stateVersion) return { app };
  return {
    app,
    warning:
      `This network runs ${appText(runs)}, this page knows ${app.name} v${version}: its forms may not ` +
      "fit the network's commands; use a wallet built with the network's version.",
  };
}
