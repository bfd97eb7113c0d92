// The package as a user installs it: `npm pack` of the built checkout, installed offline into a
// scratch project of the user's own (test/support/packed-project.ts). From there, a typed backend
// (test/fixtures/packed-project/backend.ts) compiles against the package's declarations — a wrong
// command name or param does not (its `@ts-expect-error` lines) — and runs with Node against a
// devnet the installed CLI starts, from the enclave bundles and contract the tarball ships; and a
// page using the SDK bundles for the browser reaching no Node built-in. Run `npm run build` first.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { build } from "esbuild";
import { startDevnet, stopDevnet } from "../support/devnet-process.js";
import { installOffline, packRepository, REPO_ROOT, writeScratchProject } from "../support/packed-project.js";
import { until } from "../support/wait.js";

const run = promisify(execFile);
const FIXTURE = join(REPO_ROOT, "test/fixtures/packed-project");
/** What the package may hold: the CLI, its built bundles and page, the library, and npm's own files. */
const SHIPPED = /^(package\.json|README\.md|bin\/anonify\.mjs|dist\/(cli\.mjs|enclave\/|web\/|lib\/))/;
/** The installed package's budget, packed: it carries the enclave bundles, one per app, prebuilt. */
const MAX_TARBALL_BYTES = 16 * 1024 * 1024;
const READY_TIMEOUT_MS = 60_000;

type DevnetInfo = { networkProfile: string; nodes: { url: string }[] };

describe("the packed package, installed into a user's project", () => {
  // A real path (tmpdir may be a symlink), compared with the checkout's below.
  const home = realpathSync(mkdtempSync(join(tmpdir(), "anonify-packed-")));
  const project = join(home, "project");
  after(() => rmSync(home, { recursive: true, force: true }));

  test("installs offline; its typed SDK and app model compile and run against its CLI's devnet, and bundle for a browser", {
    timeout: 180_000,
  }, async () => {
    // Outside the checkout, or Node would find the repository's node_modules above the project.
    assert.ok(relative(REPO_ROOT, project).startsWith(".."), "the scratch project is outside the checkout");
    const packed = await packRepository(home);
    assert.deepEqual(
      packed.files.filter((f) => !SHIPPED.test(f)),
      [],
      "nothing but the CLI, its bundles, the library and npm's own files",
    );
    for (const file of [
      "dist/lib/src/client/index.d.ts",
      "dist/lib/apps/erc20/index.js",
      "dist/enclave/enclave.mjs",
    ])
      assert.ok(packed.files.includes(file), `${file} is shipped`);
    assert.ok(packed.bytes < MAX_TARBALL_BYTES, `the tarball is ${packed.bytes} bytes`);

    cpSync(FIXTURE, project, { recursive: true });
    await writeScratchProject(project, packed.tarball);
    await installOffline(project);

    // The typed backend compiles (its @ts-expect-error lines must each be an error) and runs on Node.
    await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], { cwd: project });

    const bin = join(project, "node_modules/.bin/anonify");
    const help = await run("npx", ["--offline", "--no-install", "anonify", "--help"], { cwd: project });
    assert.match(help.stdout, /^Usage: anonify /);
    // Building an enclave needs the sources and the toolchain, which an installed package leaves out.
    await assert.rejects(
      run(bin, ["enclave", "measure", "--apps-dir", join(REPO_ROOT, "apps")], { cwd: project }),
      (e: { stderr: string }) => /^rejected \(no_toolchain\): .*build from a checkout/.test(e.stderr),
    );

    const devnetArgs = ["devnet", "--nodes", "1", "--data-dir", join(project, ".anonify"), "--json"];
    const { child, info } = await startDevnet<DevnetInfo>([bin, ...devnetArgs], project);
    try {
      const node = info.nodes[0]!.url;
      await until(
        "the devnet's node to be ready",
        async () => ((await fetch(new URL("/v1/ready", node))).ok ? true : undefined),
        READY_TIMEOUT_MS,
      );
      const { stdout } = await run(process.execPath, ["out/backend.js", info.networkProfile, node], {
        cwd: project,
      });
      assert.deepEqual(JSON.parse(stdout), {
        app: "erc20",
        construct: "applied",
        transfer: "applied",
        refused: "transfer amount exceeds balance",
        balance: "750",
        counter: { added: "applied", result: "2", nothing: "nothing to add" },
        wrongApp: "wrong_app: this network runs erc20, not counter",
      });
    } finally {
      assert.equal(await stopDevnet(child), 0, "the devnet stops cleanly");
    }

    // A page: bundled for the browser, any `node:` import (or other built-in) would fail the build.
    // tiny-secp256k1's browser build imports its WebAssembly as an ES module, which the page's
    // bundler loads (Vite does, as web/ shows; esbuild needs a plugin): left to it here.
    const page = await build({
      absWorkingDir: project,
      entryPoints: ["page.ts"],
      bundle: true,
      platform: "browser",
      format: "esm",
      splitting: true,
      outdir: "page",
      external: ["*.wasm"],
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(page.metafile.inputs);
    assert.ok(
      inputs.includes("node_modules/anonify/dist/lib/src/client/anonify-client.js"),
      "the SDK is in it",
    );
    assert.deepEqual(
      inputs.filter((i) => /\/(local-account|network-profile)\.js$/.test(i)),
      [],
      "Node's signer and profile file I/O are not",
    );
  });
});
