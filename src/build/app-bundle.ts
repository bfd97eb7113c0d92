// An app's own bundle. Apps live one per folder, `<apps dir>/<name>/index.ts` (the repository's
// apps/ unless a build is given another, as tests give test/fixtures/apps); an app's bundle is that
// module with everything it imports, built as the enclave is: its SHA-256 is the app's code hash,
// and the app's name and state version are read from those very bytes. The enclave imports its app
// from `APP_MODULE`, which only the build resolves, to the chosen app's entry: a bundle holds its
// own app and no other, so adding or changing an app leaves every other app's measurement as it was.
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { Plugin } from "esbuild";
import type { Hex } from "viem";
import type { App } from "../app/app.js";
import { build, DETERMINISTIC, REPO_ROOT, sha256Hex } from "./deterministic-build.js";

export const DEFAULT_APPS_DIR = join(REPO_ROOT, "apps");
/** The module src/enclave/main.ts imports its app from (typed by src/enclave/app-module.d.ts). */
export const APP_MODULE = "anonify:app";
/** An app's module in its folder. */
const APP_ENTRY = "index.ts";

/** An app that cannot be built or run, by name: `unknown_app` (no such app) or `bad_app`. */
export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: "unknown_app" | "bad_app",
    message: string,
  ) {
    super(message);
  }
}

/** How a list of names reads in a refusal. */
export const listed = (names: readonly string[]): string => (names.length === 0 ? "none" : names.join(", "));

/** A folder as a refusal shows it: from the package's root when inside it. */
function shown(dir: string): string {
  const inside = relative(REPO_ROOT, dir);
  return inside.startsWith("..") || isAbsolute(inside) ? dir : inside;
}

/** The apps of `appsDir`, by name: each folder holding an index.ts. */
export function appNames(appsDir = DEFAULT_APPS_DIR): string[] {
  if (!existsSync(appsDir)) return [];
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(appsDir, entry.name, APP_ENTRY)))
    .map((entry) => entry.name)
    .sort();
}

/** The entry module of app `name`; `unknown_app` naming the apps there are if it is none of them. */
export function appEntry(name: string, appsDir = DEFAULT_APPS_DIR): string {
  const names = appNames(appsDir);
  // A name is one of the folders listed, never a path: "../x" or "a/b" is no app.
  if (!names.includes(name))
    throw new AppError(
      "unknown_app",
      `no app ${JSON.stringify(name)}: the apps are ${listed(names)} (${shown(appsDir)}/<name>/${APP_ENTRY})`,
    );
  return join(appsDir, name, APP_ENTRY);
}

/** An app's own bundle: its entry, its code hash and its definition, read from the bundled bytes. */
export type AppBundle = { entry: string; codeHash: Hex; definition: App };

const isApp = (value: unknown): value is App =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { name?: unknown }).name === "string" &&
  typeof (value as { commands?: unknown }).commands === "object";

/**
 * The app a bundle exports by default, read by running those bytes (an app's module only defines
 * it): what the build names is what the code hash covers, not a copy compiled elsewhere.
 */
async function definitionIn(bytes: Uint8Array, entry: string, name: string): Promise<App> {
  const url = `data:text/javascript;base64,${Buffer.from(bytes).toString("base64")}`;
  const { default: app } = (await import(url)) as { default?: unknown };
  if (!isApp(app))
    throw new AppError(
      "bad_app",
      `${shown(entry)} exports no app as its default (export default defineApp(…))`,
    );
  if (app.name !== name)
    throw new AppError(
      "bad_app",
      `${shown(entry)} defines app ${JSON.stringify(app.name)}: an app's folder is named as the app (${name})`,
    );
  return app;
}

/** Bundles app `name` of `appsDir` as the enclave bundles it. */
export async function bundleApp(name: string, appsDir = DEFAULT_APPS_DIR): Promise<AppBundle> {
  const entry = appEntry(name, appsDir);
  const result = await build({ ...DETERMINISTIC, entryPoints: [entry] });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no bundle of app ${name}`);
  return {
    entry,
    codeHash: sha256Hex(file.contents),
    definition: await definitionIn(file.contents, entry, name),
  };
}

/**
 * The app's code hash: the SHA-256 of the app's own bundle (its module and everything it imports),
 * built as the enclave is. Part of the app's identity (`appIdOf`): an app whose code changed is
 * another app to the group, admitted only as an upgrade a signed policy names.
 */
export async function appCodeHash(name: string, appsDir = DEFAULT_APPS_DIR): Promise<Hex> {
  return (await bundleApp(name, appsDir)).codeHash;
}

/** Resolves `APP_MODULE` to the app's entry: the enclave bundle holds this app and no other. */
export const appModule = (entry: string): Plugin => ({
  name: "anonify-app",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: new RegExp(`^${APP_MODULE}$`) }, () => ({ path: entry }));
  },
});
