// `anonify devnet --app NAME` (`npm start -- --app NAME`): its nodes run that app's bundle from
// `npm run build` (dist/enclave/apps/NAME.mjs), its banner names the app and its code hash, and a
// devnet keeps its app: started again with another, it is refused by name. Runs bin/anonify.mjs:
// run `npm run build` first.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { appBundlePath, readBundleInfo } from "../../src/build/enclave-bundle.js";

const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
/** The line the banner ends with, once every node serves. */
const BANNER_END = "Press Ctrl-C to stop.";

/** Starts `anonify devnet ARGS` and resolves with its banner (standard output up to its last line). */
function startDevnet(args: string[]): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, [CLI, "devnet", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(BANNER_END)) resolve({ child, banner: out });
    });
    child.once("exit", (code) => reject(new Error(`devnet exited early (${code}): ${out}`)));
  });
}

function stopDevnet(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  return exited;
}

describe("anonify devnet --app", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "anonify-devnet-app-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("runs the app's own bundle, names it in its banner, and keeps its app", async () => {
    const built = readBundleInfo(appBundlePath("erc20"));
    const { child, banner } = await startDevnet(["--app", "erc20", "--nodes", "1", "--data-dir", dataDir]);
    try {
      const { app } = built;
      assert.match(
        banner,
        new RegExp(`\\n {2}app {18}erc20 v1, code hash ${app.codeHash} \\(id ${app.id}\\)\\n`),
      );
      const node = /node 1 +(http:\/\/\S+)/.exec(banner)?.[1];
      assert.ok(node, banner);
      const status = (await (await fetch(new URL("/v1/status", node))).json()) as {
        measurement: string;
        app: unknown;
      };
      // (The default build runs erc20 too, byte for byte: the same measurement.)
      assert.equal(status.measurement, built.measurement, "the node runs the app's bundle");
      assert.deepEqual(status.app, app);
    } finally {
      assert.equal(await stopDevnet(child), 0);
    }
    // A devnet another app made (its record names it): this start is refused, saying what to do.
    const recordPath = join(dataDir, "devnet.json");
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as { app: string };
    assert.equal(record.app, "erc20");
    writeFileSync(recordPath, JSON.stringify({ ...record, app: "auction" }));
    const refused = await promisify(execFile)(process.execPath, [
      ...[CLI, "devnet", "--app", "erc20", "--nodes", "1", "--data-dir", dataDir],
    ]).then(
      () => assert.fail("a devnet of another app started"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /rejected \(wrong_app\): this devnet \(.*\) runs auction, not erc20: start it with --fresh/,
    );
  });
});
