// The apps an enclave bundle can run; the build config names one, and it is part of the measurement.
import type { App } from "../src/app/app.js";
import erc20 from "./erc20/index.js";

/** Every app by its name, each keeping its own types (`APPS.erc20` is the typed erc20 app). */
export const APPS = { erc20 } as const satisfies Readonly<Record<string, App>>;

export type AppName = keyof typeof APPS;

const byName: Readonly<Record<string, App>> = APPS;

/** The app called `name`, if this build has one (own names only: "constructor" is no app). */
export const appNamed = (name: string): App | undefined =>
  Object.hasOwn(byName, name) ? byName[name] : undefined;
