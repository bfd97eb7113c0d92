// `anonify app new NAME [--dir DIR]`: writes a new app's folder, `<dir>/<name>/` (by default in
// ./apps, where this repository keeps its apps), holding a small working app, its tests through
// testApp and a README. It refuses a name an app may not have and a folder that exists, and writes
// nothing then.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { NAME_PATTERN } from "../app/app.js";
import { REPO_ROOT } from "../build/deterministic-build.js";
import { OperatorError } from "../operator/operator-checks.js";
import { type AppModelModule, appSource, readmeSource, testSource } from "./app-template.js";
import { run } from "./output.js";

/** Where the generated app imports the app model from, outside a checkout: the package's exports. */
export const APP_MODEL_PACKAGE = "anonify/app";
/** The harness apart from the model (an app's own module never loads it). */
export const APP_TESTING_PACKAGE = "anonify/app/testing";
const APP_MODEL_SOURCES = join(REPO_ROOT, "src/app");

export type NewApp = { name: string; folder: string; files: string[]; imports: string };

const inside = (dir: string, root: string): boolean => {
  const path = relative(root, dir);
  return path === "" || (!path.startsWith("..") && !isAbsolute(path));
};

/** A relative module specifier from `folder` to `target` (always starting with ./ or ../). */
function specifier(folder: string, target: string): string {
  const path = relative(folder, target).split("\\").join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

/**
 * Writes app `name` into `<dir>/<name>/`. Inside anonify's own checkout the app imports the app model
 * from its sources, as the shipped apps do (an enclave bundle must hold the very classes its executor
 * checks for, so not a compiled copy); anywhere else from `anonify/app` (`anonify/app/testing` for
 * the harness).
 */
export function newApp(name: string, dir: string): NewApp {
  if (!NAME_PATTERN.test(name))
    throw new OperatorError(
      "bad_name",
      `an app's name is a letter then up to 63 letters, digits or _ (users sign it), not ${JSON.stringify(name)}`,
    );
  const folder = resolve(dir, name);
  if (existsSync(folder))
    throw new OperatorError("app_exists", `${folder} exists: app new writes a new folder only`);
  const inCheckout = inside(folder, REPO_ROOT) && existsSync(join(APP_MODEL_SOURCES, "app.ts"));
  const from = (module: AppModelModule) =>
    inCheckout
      ? specifier(folder, join(APP_MODEL_SOURCES, `${module}.js`))
      : module === "test-app"
        ? APP_TESTING_PACKAGE
        : APP_MODEL_PACKAGE;
  const testFile = `${name}.test.ts`;
  const files: [string, string][] = [
    ["index.ts", appSource(name, from)],
    [testFile, testSource(name, from)],
    [
      "README.md",
      readmeSource(name, {
        inCheckout,
        testFile: inCheckout ? relative(REPO_ROOT, join(folder, testFile)) : testFile,
      }),
    ],
  ];
  mkdirSync(folder, { recursive: true });
  for (const [file, text] of files) writeFileSync(join(folder, file), text, { flag: "wx" });
  return {
    name,
    folder,
    files: files.map(([file]) => join(folder, file)),
    imports: inCheckout ? "sources" : APP_MODEL_PACKAGE,
  };
}

export function registerAppCommand(program: Command): void {
  const app = program.command("app").description("write your own app (docs/apps.md)");
  app
    .command("new")
    .description("write a new app, its tests and a README into <dir>/<name>/")
    .argument("<name>", "the app's name: a letter, then letters, digits or _")
    .option("--dir <dir>", "the folder of apps to write it into", "apps")
    .option("--json", "machine-readable output", false)
    .action((name: string, flags: { dir: string; json: boolean }) =>
      run(flags, async () => {
        const made = newApp(name, flags.dir);
        if (flags.json) {
          console.log(JSON.stringify(made));
          return;
        }
        console.log(`app ${name}: ${made.folder}`);
        for (const file of made.files) console.log(`  ${relative(process.cwd(), file)}`);
        const test = relative(process.cwd(), made.files[1]!);
        // Outside a checkout the app imports the installed package: a project that has none says so
        // as "Cannot find module 'anonify/app'", so the step comes first.
        if (made.imports !== "sources")
          console.log(
            `in a project of yours: npm install anonify tsx (the app imports ${APP_MODEL_PACKAGE})`,
          );
        console.log(`test it: node --import tsx --test ${test}`);
        if (made.imports === "sources")
          console.log(`run it: list it in apps/index.ts, then npm run build && npm start -- --app ${name}`);
      }),
    );
}
