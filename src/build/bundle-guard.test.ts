// The guard plays against bundles an attacker would want measured: small ones built here as the
// enclave is built (each loading code from outside itself one way, and a clean one), the real
// enclave bundle, and the run-time `require` of the banner against a module planted on disk.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  BUILTINS_ONLY_REQUIRE,
  BundleGuardError,
  guardBundle,
  type Offence,
  offencesInText,
} from "./bundle-guard.js";
import { build, DETERMINISTIC } from "./deterministic-build.js";
import { buildEnclaveBundle } from "./enclave-bundle.js";
import { LEFT_OUT } from "./enclave-resolution.js";

const dir = mkdtempSync(join(tmpdir(), "anonify-guard-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `source` bundled as the enclave is (its banner, its settings), with the metafile. */
async function bundled(name: string, source: string) {
  const entry = join(dir, name);
  writeFileSync(entry, source);
  const result = await build({
    ...DETERMINISTIC,
    entryPoints: [entry],
    banner: { js: BUILTINS_ONLY_REQUIRE },
    metafile: true,
  });
  return { text: result.outputFiles[0]!.text, metafile: result.metafile, entry };
}

/** The offences the guard names in a bundle of `source`, each checked to name the source file. */
async function offences(name: string, source: string): Promise<readonly Offence[]> {
  const { text, metafile } = await bundled(name, source);
  try {
    guardBundle(text, metafile);
    return [];
  } catch (error) {
    assert.ok(error instanceof BundleGuardError, String(error));
    for (const o of error.offences) assert.match(o.where, new RegExp(name.replace(".", "\\.")));
    assert.match(error.message, /can load code from outside itself/);
    return error.offences;
  }
}

const named = (found: readonly Offence[], what: RegExp) =>
  assert.ok(
    found.some((o) => what.test(o.what)),
    `expected an offence like ${what}, got ${JSON.stringify(found)}`,
  );

describe("the bundle guard, on bundles made to load code from outside", () => {
  test("a clean bundle passes: file reads, built-ins, literals and words in strings", async () => {
    const found = await offences(
      "clean.cjs",
      [
        'const { readFileSync } = require("node:fs");',
        'const { createHash } = require("crypto");',
        "// require(name) in a comment, import(name) too",
        'const doc = "call require(name) or import(name) or eval(code)";',
        "const pattern = /require\\(x\\)|import\\(y\\)/;",
        `const template = \`require(\${doc.length})\`;`,
        'const global = Function("return this")();',
        "module.exports = (path) => [createHash('sha256').update(readFileSync(path)), pattern, template, global];",
      ].join("\n"),
    );
    assert.deepEqual(found, []);
  });

  test("require of a computed name", async () => {
    named(
      await offences("computed.cjs", "module.exports = (name) => require(name);"),
      /require of a computed name/,
    );
  });

  test("a native addon through process.dlopen", async () => {
    named(
      await offences("dlopen.cjs", "module.exports = (path) => process.dlopen(module, path);"),
      /a native addon \(dlopen\)/,
    );
  });

  test("a .node file or a package left for Node to find on disk", async () => {
    const found = await offences(
      "on-disk.cjs",
      'try { require("./native/addon.node"); } catch {}\ntry { require("left-pad"); } catch {}',
    );
    named(found, /require of "\.\/native\/addon\.node", a module Node would find on disk/);
    named(found, /require of "left-pad", a module Node would find on disk/);
  });

  test("import() of a computed name, and of a built-in that loads code", async () => {
    named(
      await offences("import.mjs", "export const load = (name) => import(name);"),
      /import\(\) of a computed name/,
    );
    named(
      await offences(
        "vm.mjs",
        'import { runInThisContext } from "node:vm";\nexport const run = runInThisContext;',
      ),
      /import of the built-in "node:vm", which loads code/,
    );
  });

  test("a thread may run the bundle itself and nothing else (worker-guard.ts)", async () => {
    const self = [
      'import { Worker, parentPort, workerData } from "node:worker_threads";',
      "export const spawn = (data) => new Worker(new URL(import.meta.url), { workerData: data });",
      "export const alone = () => new Worker(new URL(import.meta.url));",
      'export const web = typeof Worker !== "undefined";',
      "if (workerData?.role === 1) parentPort.postMessage(1);",
    ].join("\n");
    assert.deepEqual(await offences("self-worker.mjs", self), []);
    const other = /a Worker of other code than the bundle itself/;
    named(
      await offences(
        "file-worker.mjs",
        'import { Worker } from "node:worker_threads";\nexport const w = () => new Worker("./other.js");',
      ),
      other,
    );
    named(
      await offences(
        "string-worker.mjs",
        'import { Worker } from "node:worker_threads";\nexport const w = (code) => new Worker(code, { eval: true });',
      ),
      other,
    );
    named(
      await offences(
        "argv-worker.mjs",
        'import { Worker } from "node:worker_threads";\nexport const w = () => new Worker(new URL(import.meta.url), { execArgv: ["--import", "/tmp/x.mjs"] });',
      ),
      other,
    );
    named(
      await offences(
        "alias-worker.mjs",
        'import { Worker } from "node:worker_threads";\nexport const W = Worker;',
      ),
      other,
    );
    named(
      await offences(
        "namespace-worker.mjs",
        'import * as threads from "node:worker_threads";\nexport const w = (f) => new threads.Worker(f);',
      ),
      /import of node:worker_threads other than named bindings/,
    );
    named(
      await offences(
        "channel-worker.mjs",
        'import { MessageChannel } from "node:worker_threads";\nexport const c = new MessageChannel();',
      ),
      /import of MessageChannel from node:worker_threads/,
    );
    named(
      await offences("import-worker.mjs", 'export const w = () => import("node:worker_threads");'),
      /import\(\) of the built-in "node:worker_threads", which loads code/,
    );
  });

  test("eval or Function of a string made at run time, and WebAssembly from disk", async () => {
    named(
      await offences("function.mjs", "export const f = (code) => new Function(code);"),
      /Function of a string/,
    );
    named(await offences("eval.mjs", "export const f = (code) => (0, eval)(code);"), /eval of a string/);
    named(
      await offences(
        "wasm.mjs",
        'import { readFileSync } from "node:fs";\nexport const m = (p) => new WebAssembly.Module(readFileSync(p));',
      ),
      /WebAssembly compiled from bytes the build did not inline/,
    );
  });
});

describe("the real enclave bundle", () => {
  test("passes the guard and holds none of the packages left out", async () => {
    // buildEnclaveBundle runs the guard: it would throw, naming what it found.
    const bundle = await buildEnclaveBundle({ outFile: join(dir, "enclave.mjs") });
    const text = readFileSync(bundle.path, "utf8");
    assert.deepEqual(offencesInText(text), []);
    // esbuild names each module it bundles in a comment: a package kept is named, one left out is not.
    assert.match(text, /^\/\/ node_modules\/@phala\/dcap-qvl\//m);
    for (const name of Object.keys(LEFT_OUT)) {
      assert.doesNotMatch(text, new RegExp(`^// node_modules/${name}/`, "m"));
      if (text.includes(`anonify-left-out:${name}`)) continue;
      assert.fail(`${name}'s stub is not in the bundle: is it still imported?`);
    }
    // What came with them, and cbor-x's native-addon loader.
    const gone = [
      "whatwg-url",
      "tr46",
      "webidl-conversions",
      "cbor-extract",
      "node-gyp-build-optional-packages",
    ];
    for (const name of [...gone, "detect-libc", "ws", "isows", "cbor-x/node-index.js"])
      assert.doesNotMatch(text, new RegExp(`^// node_modules/${name}`, "m"), name);
  });
});

describe("the banner's require, at run time", () => {
  test("refuses a module planted on disk and serves built-ins", async () => {
    const planted = join(dir, "planted.cjs");
    writeFileSync(planted, 'globalThis.planted = "host code"; module.exports = 1;');
    // Built without the guard, which would refuse it: the run-time check is the second line.
    const { text } = await bundled(
      "loader.cjs",
      [
        "const load = (name) => require(name);",
        'load("node:crypto");',
        "try { load(process.argv[2]); } catch (e) { console.log(e.message); }",
        'console.log(globalThis.planted ?? "nothing planted ran");',
      ].join("\n"),
    );
    const file = join(dir, "loader.mjs");
    writeFileSync(file, text);
    const run = spawnSync(process.execPath, [file, planted], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stdout,
      `the enclave loads no code from outside its bundle: require(${planted})\nnothing planted ran\n`,
    );
  });
});
