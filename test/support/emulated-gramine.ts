// Gramine without Gramine, for tests (no Gramine and no SGX here; no Debian package of Gramine): what
// an operator's `gramine-manifest` + `gramine-sgx-sign` leave in the deployment directory, and a
// stand-in launcher, `emulated-gramine-sgx`, that does what we rely on Gramine doing before the
// enclave runs. It is NOT Gramine: no enclave, no measurement, no isolation. It reads the signed
// manifest the build's template became, checks the fields we rely on (loader.entrypoint and
// libos.entrypoint, loader.argv fixed in the manifest, no host environment but loader.env, every
// trusted file's SHA-256 against the file: a difference refuses the start, as Gramine refuses to
// open such a file), makes the emulated /dev/attestation tree the test build reads (attestation_type
// from sgx.remote_attestation, sealing keys bound to the manifest and signature), then runs the
// manifest's entrypoint on its argv with the mounts mapped to host paths and its stdio passed
// through. Quotes come from the test's quote service (test-gramine-attestation.ts, test-qgs.ts).
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "smol-toml";

/** The stand-in's file name (a test passes its path as --gramine-command). */
export const STAND_IN = "emulated-gramine-sgx";
/** Where the emulated Gramine keeps its runtime (the LibOS and its libraries), in the deployment directory. */
const RUNTIME_DIR = "gramine-runtime";
const FILE_URI = "file:";
const REPO_PACKAGE = resolve(import.meta.dirname, "../../package.json");

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const filesUnder = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });

/**
 * What `gramine-manifest NAME.manifest.template NAME.manifest` then `gramine-sgx-sign` leave in `dir`:
 * the template rendered (an emulated runtime directory for Gramine's), every trusted file with its
 * SHA-256 (a directory's files each), `NAME.manifest.sgx` and a stand-in `NAME.sig`.
 */
export function signEmulated(dir: string, name: string): { manifest: string; signature: string } {
  const runtime = join(dir, RUNTIME_DIR);
  mkdirSync(runtime, { recursive: true });
  writeFileSync(join(runtime, "libsysdb.so"), "emulated Gramine LibOS: a stand-in file, not Gramine\n");
  const rendered = readFileSync(join(dir, `${name}.manifest.template`), "utf8")
    .replaceAll("{{ gramine.libos }}", join(runtime, "libsysdb.so"))
    .replaceAll("{{ gramine.runtimedir() }}", runtime);
  writeFileSync(join(dir, `${name}.manifest`), rendered);
  const manifest = parse(rendered) as {
    sgx: { trusted_files: (string | { uri: string; sha256?: string })[] };
  };
  const hashed = (uri: string) => ({
    uri,
    sha256: sha256(readFileSync(resolve(dir, uri.slice(FILE_URI.length)))),
  });
  manifest.sgx.trusted_files = manifest.sgx.trusted_files.flatMap((entry) => {
    if (typeof entry !== "string") return [entry.sha256 ? entry : hashed(entry.uri)];
    if (!entry.endsWith("/")) return [hashed(entry)];
    const under = resolve(dir, entry.slice(FILE_URI.length));
    return filesUnder(under).map((file) => hashed(`${FILE_URI}${file}`));
  });
  const signed = stringify(manifest);
  const manifestPath = join(dir, `${name}.manifest.sgx`);
  const signature = join(dir, `${name}.sig`);
  writeFileSync(manifestPath, signed);
  writeFileSync(signature, `${JSON.stringify({ standIn: "SIGSTRUCT", manifestSha256: sha256(signed) })}\n`);
  return { manifest: manifestPath, signature };
}

/** What the operator puts beside the bundle: `node` (here a wrapper running this Node) and `data/`. */
export function placeNode(dir: string): void {
  writeFileSync(join(dir, "node"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
  chmodSync(join(dir, "node"), 0o755);
  mkdirSync(join(dir, "data"), { recursive: true });
}

/** Writes the stand-in launcher into `binDir`; the test build's emulated tree is `tree`. Its path. */
export function writeStandIn(binDir: string, tree: string): string {
  mkdirSync(binDir, { recursive: true });
  const path = join(binDir, STAND_IN);
  writeFileSync(path, standInSource(tree));
  chmodSync(path, 0o755);
  return path;
}

/** The stand-in, CommonJS run by this Node (its shebang), reading TOML with the repository's parser. */
function standInSource(tree: string): string {
  return `#!${process.execPath}
// TEST STAND-IN for gramine-sgx, written by test/support/emulated-gramine.ts. NOT Gramine: no SGX.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const { join, resolve } = require("node:path");
const { spawn } = require("node:child_process");
const { parse } = require("node:module").createRequire(${JSON.stringify(REPO_PACKAGE)})("smol-toml");
const TREE = ${JSON.stringify(tree)};
const ME = ${JSON.stringify(STAND_IN)};
const fail = (why) => {
  process.stderr.write(ME + ": error: " + why + "\\n");
  process.exit(1);
};
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const name = process.argv[2];
if (process.argv.length !== 3) fail("usage: " + ME + " NAME, in the directory of NAME.manifest.sgx");
const manifestFile = name + ".manifest.sgx";
if (!fs.existsSync(manifestFile)) fail(manifestFile + " not found");
if (!fs.existsSync(name + ".sig")) fail(name + ".sig not found: sign the manifest (gramine-sgx-sign)");
const text = fs.readFileSync(manifestFile, "utf8");
let m;
try {
  m = parse(text);
} catch (error) {
  fail(manifestFile + " is not TOML: " + error.message);
}
const get = (path) => path.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), m);
const entry = get("loader.entrypoint");
if (!entry || typeof entry.uri !== "string" || !entry.uri.startsWith("file:"))
  fail("loader.entrypoint.uri must be a file: URI (Gramine's LibOS)");
if (!fs.existsSync(entry.uri.slice(5))) fail("loader.entrypoint " + entry.uri + " does not exist");
const libos = get("libos.entrypoint");
if (typeof libos !== "string") fail("libos.entrypoint is required");
const argv = get("loader.argv");
if (get("loader.insecure__use_cmdline_argv") === true || get("loader.argv_src_file") !== undefined)
  fail("loader.argv must be fixed in the manifest: the stand-in takes no arguments from the host");
if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string"))
  fail("loader.argv must be a non-empty array of strings");
// Gramine passes the host's environment only with loader.insecure__use_host_env; loader.env always.
const env = get("loader.insecure__use_host_env") === true ? { ...process.env } : {};
for (const [key, value] of Object.entries(get("loader.env") ?? {})) {
  if (typeof value !== "string") fail("loader.env." + key + " must be a string");
  env[key] = value;
}
const trusted = new Map();
for (const file of get("sgx.trusted_files") ?? []) {
  if (typeof file !== "object" || typeof file.uri !== "string" || typeof file.sha256 !== "string")
    fail("trusted file " + JSON.stringify(file) + " has no sha256: the manifest is not signed (gramine-sgx-sign)");
  const path = resolve(file.uri.slice(5));
  let actual;
  try {
    actual = sha256(fs.readFileSync(path));
  } catch (error) {
    fail("trusted file " + file.uri + " cannot be read (" + error.code + ")");
  }
  // Gramine checks at every open and refuses the open; the stand-in checks them all before starting.
  if (actual !== file.sha256)
    fail("trusted file " + file.uri + " has SHA-256 " + actual + ", not the manifest's " + file.sha256 + ": refused (Gramine refuses to open it)");
  trusted.set(path, file.uri);
}
const allowed = (get("sgx.allowed_files") ?? []).map((uri) => resolve(uri.slice(5)));
const tmp = fs.mkdtempSync(join(require("node:os").tmpdir(), "emulated-gramine-tmpfs-"));
const mounts = (get("fs.mounts") ?? []).slice().sort((a, b) => b.path.length - a.path.length);
const hostPath = (inside) => {
  const mount = mounts.find((x) => inside === x.path || inside.startsWith(x.path + "/"));
  if (!mount) return inside;
  const base = mount.type === "tmpfs" ? tmp : resolve(mount.uri.slice(5));
  return base + inside.slice(mount.path.length);
};
const readable = (path) => trusted.has(path) || allowed.some((dir) => path === dir || path.startsWith(dir + "/"));
const exe = hostPath(libos);
if (!trusted.has(exe)) fail("libos.entrypoint " + libos + " is not a trusted file");
const args = argv.slice(1).map((arg) => {
  if (!arg.startsWith("/")) return arg;
  const path = hostPath(arg);
  if (path !== arg && fs.existsSync(path) && fs.statSync(path).isFile() && !readable(path))
    fail(arg + " is neither a trusted nor an allowed file");
  return path;
});
// Gramine's /dev/attestation: the attestation type the manifest asks for, and sealing keys bound to
// what SGX binds them to (MRENCLAVE: here the signed manifest; MRSIGNER: here the signature file).
const kind = get("sgx.remote_attestation") ?? "none";
if (kind !== "none" && kind !== "dcap") fail("sgx.remote_attestation is none or dcap, not " + kind);
const dir = join(TREE, "dev/attestation");
fs.mkdirSync(join(dir, "keys"), { recursive: true });
fs.writeFileSync(join(dir, "attestation_type"), kind);
fs.writeFileSync(join(dir, "user_report_data"), "");
fs.writeFileSync(join(dir, "quote"), "");
const key = (label, bytes) => createHash("sha256").update(label).update(bytes).digest().subarray(0, 16);
fs.writeFileSync(join(dir, "keys/_sgx_mrenclave"), key("mrenclave", text));
fs.writeFileSync(join(dir, "keys/_sgx_mrsigner"), key("mrsigner", fs.readFileSync(name + ".sig")));
process.stderr.write(ME + ": " + name + ": signed manifest checked (" + trusted.size + " trusted files); TEST STAND-IN, not Gramine\\n");
const child = spawn(exe, args, { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
`;
}
