// Every app of this folder, each with its own types, for code that names apps (the web wallet, the
// SDK's users, tests). No enclave imports this list: a bundle holds the one app its build names, read
// from that app's folder (src/build/app-bundle.ts), so one app more here moves no other measurement.
// Each folder is listed here (src/build/app-bundle.test.ts checks it).
import type { App } from "../src/app/app.js";
import auction from "./auction/index.js";
import erc20 from "./erc20/index.js";
import voting from "./voting/index.js";

/** Every app by its name, each keeping its own types (`APPS.erc20` is the typed erc20 app). */
export const APPS = { auction, erc20, voting } as const satisfies Readonly<Record<string, App>>;

export type AppName = keyof typeof APPS;

const byName: Readonly<Record<string, App>> = APPS;

/** The app called `name`, if this build has one (own names only: "constructor" is no app). */
export const appNamed = (name: string): App | undefined =>
  Object.hasOwn(byName, name) ? byName[name] : undefined;
