// `anonify app new NAME`: writes an app, its tests and a README whose tests pass as written, in
// anonify's checkout (importing the app model from its sources, as apps/ does) and in a project of
// one's own (importing the installed package's `anonify/app`); a name an app may not have and a
// folder that exists are refused by name, with nothing written.
// Runs bin/anonify.mjs and the package's dist/lib: run `npm run build` first.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../src/build/deterministic-build.js";
import { anonify, refusal } from "../support/anonify-cli.js";

const execFileAsync = promisify(execFile);
/**
 * Runs a test file as a user would, with tsx; resolves with its TAP output, rejects if it fails. Not
 * as a subtest of this one: node's runner tells a child that it is one through NODE_TEST_CONTEXT.
 */
const runTest = (file: string) => {
  const { NODE_TEST_CONTEXT: _asChild, ...env } = process.env;
  return execFileAsync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", file], {
    cwd: REPO_ROOT,
    env,
  });
};

describe("anonify app new", () => {
  // A checkout's folder (not under src/, apps/ or test/: the suite never finds its test) and a
  // project of one's own that installed anonify (here a link to this package).
  const inCheckout = mkdtempSync(join(REPO_ROOT, ".app-new-"));
  const project = mkdtempSync(join(tmpdir(), "anonify-app-new-"));
  after(() => {
    rmSync(inCheckout, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  test("in the checkout: an app importing the sources, whose own tests pass", async () => {
    const { stdout } = await anonify("app", "new", "tickets", "--dir", inCheckout);
    const folder = join(inCheckout, "tickets");
    assert.deepEqual(readdirSync(folder).sort(), ["README.md", "index.ts", "tickets.test.ts"]);
    assert.match(stdout, /^app tickets: /);
    assert.match(
      stdout,
      /run it: list it in apps\/index\.ts, then npm run build && npm start -- --app tickets/,
    );
    const app = readFileSync(join(folder, "index.ts"), "utf8");
    assert.match(app, /from "\.\.\/\.\.\/src\/app\/app\.js";/);
    assert.match(app, /name: "tickets",/);
    assert.match(readFileSync(join(folder, "README.md"), "utf8"), /npm start -- --app tickets/);
    const { stdout: tap } = await runTest(join(folder, "tickets.test.ts"));
    assert.match(tap, /^# pass 2$/m);
    assert.match(tap, /^# fail 0$/m);
  });

  test("in a project of one's own: an app importing anonify/app, whose own tests pass", async () => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module", private: true }));
    mkdirSync(join(project, "node_modules"));
    symlinkSync(REPO_ROOT, join(project, "node_modules/anonify"), "dir");
    const { stdout } = await anonify("app", "new", "poll", "--dir", join(project, "apps"), "--json");
    const made = JSON.parse(stdout) as { name: string; folder: string; files: string[]; imports: string };
    assert.deepEqual(made, {
      name: "poll",
      folder: join(project, "apps/poll"),
      files: ["index.ts", "poll.test.ts", "README.md"].map((f) => join(project, "apps/poll", f)),
      imports: "anonify/app",
    });
    assert.match(readFileSync(made.files[0]!, "utf8"), /from "anonify\/app";/);
    assert.match(readFileSync(made.files[1]!, "utf8"), /import \{ testApp \} from "anonify\/app\/testing";/);
    const { stdout: tap } = await runTest(made.files[1]!);
    assert.match(tap, /^# pass 2$/m);
    assert.match(tap, /^# fail 0$/m);
  });

  test("refuses a folder that exists and a name an app may not have, writing nothing", async () => {
    const exists = await refusal("app", "new", "tickets", "--dir", inCheckout);
    assert.equal(exists.code, 1);
    assert.match(
      exists.stderr,
      /^rejected \(app_exists\): .*\/tickets exists: app new writes a new folder only/,
    );
    for (const name of ["9lives", "my-app", "../escape"]) {
      const bad = await refusal("app", "new", name, "--dir", project);
      assert.equal(bad.code, 1, name);
      assert.match(
        bad.stderr,
        /^rejected \(bad_name\): an app's name is a letter then up to 63 letters/,
        name,
      );
    }
    assert.ok(!existsSync(join(project, "9lives")) && !existsSync(join(project, "escape")));
  });
});
