// One bundle per app: an enclave bundle holds the app it runs and no other, so adding or changing
// one app leaves every other app's measurement as it was; an app is found by its folder, and a name
// that is none of them is refused, naming the apps there are.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { APPS } from "../../apps/index.js";
import { appIdOf } from "../protocol/digests.js";
import { AppError, appCodeHash, appEntry, appNames, DEFAULT_APPS_DIR } from "./app-bundle.js";
import { REPO_ROOT } from "./deterministic-build.js";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG, measureEnclaveBundle } from "./enclave-bundle.js";

/** The test apps (not shipped): `counter`, a tiny app of its own; `careless` and `lottery` (the sandbox). */
const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");
const COUNTER = join(FIXTURE_APPS, "counter/index.ts");
const APP_SOURCE = join(REPO_ROOT, "src/app/app.ts");
const SCHEMA_SOURCE = join(REPO_ROOT, "src/app/schema.ts");

const configFor = (app: string) => ({ ...DEFAULT_ENCLAVE_CONFIG, app });
const refused = (code: string, message: RegExp) => (e: unknown) =>
  e instanceof AppError && e.code === code && message.test(e.message);

/** An app named `name` with one command, whose rule adds `step` (so two steps are two codes). */
const tinyApp = (name: string, step: number) =>
  [
    `import { defineApp } from ${JSON.stringify(APP_SOURCE)};`,
    `import { object } from ${JSON.stringify(SCHEMA_SOURCE)};`,
    "export default defineApp({",
    `  name: ${JSON.stringify(name)},`,
    "  initialState: (): { n: bigint } => ({ n: 0n }),",
    `  commands: { step: { params: object({}), run: (s) => ({ n: s.n + ${step}n }) } },`,
    "  queries: {},",
    "});",
    "",
  ].join("\n");

describe("one bundle per app", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-apps-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the apps are the folders of apps/, each registered in apps/index.ts", () => {
    assert.deepEqual(appNames(), Object.keys(APPS).sort());
    assert.deepEqual(appNames(FIXTURE_APPS), ["careless", "counter", "lottery"]);
    assert.equal(appEntry("erc20"), join(DEFAULT_APPS_DIR, "erc20/index.ts"));
  });

  test("a name that is no app's folder is refused, naming the apps there are", () => {
    for (const name of ["nosuch", "../apps/erc20", "erc20/", "", "counter"])
      assert.throws(
        () => appEntry(name),
        refused(
          "unknown_app",
          new RegExp(`^no app ${JSON.stringify(name)}: the apps are auction, erc20, voting \\(apps/`),
        ),
        name,
      );
  });

  test("a folder whose module is not the app it is named for is refused", async () => {
    const apps = join(dir, "bad");
    const write = (name: string, source: string) => {
      mkdirSync(join(apps, name), { recursive: true });
      writeFileSync(join(apps, name, "index.ts"), source);
    };
    write("misnamed", tinyApp("other", 1));
    write("empty", "export const nothing = 1;\n");
    await assert.rejects(
      appCodeHash("misnamed", apps),
      refused("bad_app", /defines app "other": an app's folder is named as the app \(misnamed\)/),
    );
    await assert.rejects(appCodeHash("empty", apps), refused("bad_app", /exports no app as its default/));
  });

  test("an enclave bundle holds its own app alone, with the code hash of that app's own bundle", async () => {
    const counter = await buildEnclaveBundle({
      outFile: join(dir, "counter.mjs"),
      config: configFor("counter"),
      appsDir: FIXTURE_APPS,
    });
    const erc20 = await buildEnclaveBundle({ outFile: join(dir, "erc20.mjs") });
    const text = (path: string) => readFileSync(path, "utf8");
    // esbuild names each module it bundles in a comment: the path from the repository's root.
    assert.match(text(counter.path), /\/\/ test\/fixtures\/apps\/counter\/index\.ts\n/);
    assert.doesNotMatch(text(counter.path), /apps\/erc20\//);
    assert.match(text(erc20.path), /\/\/ apps\/erc20\/index\.ts\n/);
    assert.doesNotMatch(text(erc20.path), /apps\/(counter|auction|voting)\/|apps\/index\.ts/);
    assert.notEqual(counter.measurement, erc20.measurement);
    assert.equal(counter.app.name, "counter");
    assert.equal(counter.app.stateVersion, 1);
    assert.equal(counter.app.codeHash, await appCodeHash("counter", FIXTURE_APPS));
    assert.equal(counter.app.id, appIdOf(counter.app));
    // Measured without a file: the measurement the build gives.
    const measured = await measureEnclaveBundle({ config: configFor("counter"), appsDir: FIXTURE_APPS });
    const { path: _written, ...built } = counter;
    assert.deepEqual(measured, built);
  });

  test("adding or changing another app leaves an app's measurement as it was; changing it does not", async () => {
    const apps = join(dir, "independent");
    const write = (name: string, source: string) => {
      mkdirSync(join(apps, name), { recursive: true });
      writeFileSync(join(apps, name, "index.ts"), source);
    };
    const measure = async (app: string) =>
      (await measureEnclaveBundle({ config: configFor(app), appsDir: apps })).measurement;
    // The counter fixture, as one app of this folder.
    const counterSource = `export { default } from ${JSON.stringify(COUNTER)};\n`;
    write("counter", counterSource);
    const alone = await measure("counter");

    write("other", tinyApp("other", 1));
    assert.equal(await measure("counter"), alone, "adding an app");
    const other = await measure("other");
    assert.notEqual(other, alone);

    write("other", tinyApp("other", 2));
    assert.equal(await measure("counter"), alone, "changing another app");
    assert.notEqual(await measure("other"), other, "a changed app is another measurement");

    write("counter", `${counterSource}export const revision = 2;\n`);
    assert.notEqual(await measure("counter"), alone, "changing the app itself");
  });
});
