// The app named where an enclave is chosen: `anonify enclave measure|build --app`, `node start
// --app` and `devnet --app` refuse an app there is none of by name, listing the apps there are, and
// exit non-zero; `measure` writes nothing, so the default bundle the devnet runs stays as it was.
// Runs bin/anonify.mjs: run `npm run build` first.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  DEFAULT_ENCLAVE_BUNDLE,
  DEFAULT_ENCLAVE_CONFIG,
  measureEnclaveBundle,
  REPO_ROOT,
} from "../../src/build/enclave-bundle.js";
import { anonify, refusal } from "../support/anonify-cli.js";

const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");

const digestOf = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("--app names the app everywhere an enclave is chosen", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-app-flags-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("enclave measure and build refuse an unknown app by name, with the apps there are", async () => {
    const out = join(dir, "nosuch.mjs");
    for (const args of [
      ["enclave", "measure", "--app", "nosuch"],
      ["enclave", "build", "--app", "nosuch", "--out", out],
    ]) {
      const { code, stderr } = await refusal(...args);
      assert.equal(code, 1, args.join(" "));
      assert.match(
        stderr,
        /^rejected \(unknown_app\): no app "nosuch": the apps are auction, erc20, voting \(apps\/<name>\/index\.ts\)/,
      );
    }
    assert.ok(!existsSync(out), "nothing is written for an app there is none of");
    const fixture = await refusal("enclave", "measure", "--app", "erc20", "--apps-dir", FIXTURE_APPS);
    assert.match(
      fixture.stderr,
      /no app "erc20": the apps are careless, counter, lottery \(test\/fixtures\/apps\/<name>/,
    );
  });

  test("measure builds in memory: the default bundle is left as it was", async () => {
    const before = [digestOf(DEFAULT_ENCLAVE_BUNDLE), digestOf(`${DEFAULT_ENCLAVE_BUNDLE}.json`)];
    const counter = await anonify("enclave", "measure", "--app", "counter", "--apps-dir", FIXTURE_APPS);
    const measured = await measureEnclaveBundle({
      config: { ...DEFAULT_ENCLAVE_CONFIG, app: "counter" },
      appsDir: FIXTURE_APPS,
    });
    assert.equal(counter.stdout, `${measured.measurement.slice(2)}\n`);
    const json = JSON.parse((await anonify("enclave", "measure", "--json")).stdout) as {
      measurement: string;
      app: { name: string; codeHash: string };
    };
    assert.notEqual(json.measurement, measured.measurement);
    assert.equal(json.app.name, "erc20");
    assert.match(json.app.codeHash, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(
      [digestOf(DEFAULT_ENCLAVE_BUNDLE), digestOf(`${DEFAULT_ENCLAVE_BUNDLE}.json`)],
      before,
      "measuring another app leaves the default bundle and its record",
    );
  });

  test("node start refuses an app with no bundle by name, and --app with --enclave", async () => {
    // Refused before the node reads its key or reaches any chain.
    const start = ["node", "start", "--attestation", "http://127.0.0.1:1", "--key", join(dir, "none.key")];
    const unknown = await refusal(...start, "--app", "nosuch");
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^rejected \(unknown_app\): no app "nosuch" is built: the apps are auction, erc20, voting \(npm run build builds one bundle per app/,
    );
    const both = await refusal(...start, "--app", "erc20", "--enclave", DEFAULT_ENCLAVE_BUNDLE);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^rejected \(bad_flag\): --app and --enclave both choose the enclave to run/);
  });

  test("devnet refuses an app with no bundle by name before it starts anything", async () => {
    const dataDir = join(dir, "devnet");
    const { code, stderr } = await refusal("devnet", "--app", "nosuch", "--data-dir", dataDir);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^rejected \(unknown_app\): no app "nosuch" is built: the apps are auction, erc20, voting/,
    );
    assert.ok(!existsSync(join(dataDir, "chain")), "no chain was started");
  });
});
