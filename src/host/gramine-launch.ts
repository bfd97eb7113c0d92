// How a host starts an enclave under Gramine-SGX: `gramine-sgx NAME` (or `gramine-direct NAME` to
// debug) in the directory holding the signed manifest `NAME.manifest.sgx` and its SIGSTRUCT
// `NAME.sig` (what `anonify enclave build --platform gramine-sgx`, `gramine-manifest` and
// `gramine-sgx-sign` leave there). Gramine connects the enclave's stdin, stdout and stderr to the
// launcher's own, so the boundary is the same frames over pipes as for a local child
// (docs/real-hardware.md says why, and that nothing of it is trusted).
//
// What is checked here is for the operator, before anything starts, and names its fix: the signed
// manifest and its signature exist, the launcher is on PATH, and the bundle the signed manifest pins
// (its trusted file's SHA-256) is the bundle beside it and the one the node was told to run. None of
// it protects anything: the host is the adversary and may skip it. Gramine refuses a trusted file
// whose hash differs from the manifest's at every open, and MRENCLAVE covers the manifest.
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { parse } from "smol-toml";
import { GRAMINE_PATHS, gramineName, gramineSteps } from "../build/deploy-gramine.js";

/** The launcher an operator runs on SGX hardware (`gramine-direct` runs the same without SGX, to debug). */
export const GRAMINE_DEFAULT_COMMAND = "gramine-sgx";
const SIGNED_SUFFIX = ".manifest.sgx";
const SIGNATURE_SUFFIX = ".sig";
const FILE_URI = "file:";
/** The steps of gramineSteps: render, sign. */
const RENDER_STEP = 0;
const SIGN_STEP = 1;

/** What to run, where: the launcher with the manifest's name, in the manifest's directory. */
export type GramineLaunch = {
  command: string;
  args: string[];
  cwd: string;
  /** The SHA-256 (hex) of the bundle the signed manifest pins. */
  bundleSha256: string;
};

export class GramineLaunchError extends Error {
  override name = "GramineLaunchError";
  constructor(
    readonly code:
      | "gramine_manifest_missing"
      | "gramine_signature_missing"
      | "gramine_not_found"
      | "gramine_manifest_invalid"
      | "gramine_bundle_mismatch",
    message: string,
  ) {
    super(message);
  }
}

export type GramineLaunchOptions = {
  /** The directory holding `NAME.manifest.sgx`, `NAME.sig`, the bundle, `node` and `data/`. */
  dir: string;
  /** `gramine-sgx` (default), `gramine-direct`, or a path to either. */
  command?: string;
  /** The bundle the node means to run (`--enclave`): its name is the manifest's, its hash must be the pinned one. */
  bundle?: string;
  /** Where the launcher is looked for (default: PATH). */
  path?: string;
};

const sha256File = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The launch, or a GramineLaunchError saying what is missing or wrong and how to fix it. */
export function prepareGramineLaunch(options: GramineLaunchOptions): GramineLaunch {
  const dir = resolve(options.dir);
  const name = options.bundle === undefined ? onlyManifestIn(dir) : gramineName(options.bundle);
  const steps = gramineSteps(name);
  const manifestPath = join(dir, `${name}${SIGNED_SUFFIX}`);
  if (!existsSync(manifestPath))
    throw new GramineLaunchError(
      "gramine_manifest_missing",
      `${manifestPath} does not exist: in ${dir}, run ${steps[RENDER_STEP]} then ${steps[SIGN_STEP]} (the template is what anonify enclave build --platform gramine-sgx wrote)`,
    );
  const signaturePath = join(dir, `${name}${SIGNATURE_SUFFIX}`);
  if (!existsSync(signaturePath))
    throw new GramineLaunchError(
      "gramine_signature_missing",
      `${signaturePath} does not exist: gramine-sgx-sign writes it beside the signed manifest (in ${dir}: ${steps[SIGN_STEP]})`,
    );
  const command = findLauncher(options.command ?? GRAMINE_DEFAULT_COMMAND, options.path ?? process.env.PATH);
  const { file, sha256 } = pinnedBundle(manifestPath);
  const beside = join(dir, file);
  if (!existsSync(beside))
    throw new GramineLaunchError(
      "gramine_bundle_mismatch",
      `${beside} does not exist: the signed manifest ${manifestPath} runs it`,
    );
  const actual = sha256File(beside);
  if (actual !== sha256)
    throw new GramineLaunchError(
      "gramine_bundle_mismatch",
      `${beside} has SHA-256 ${actual}, but the signed manifest pins ${sha256}: Gramine refuses to open a trusted file whose hash differs (the bundle changed after signing: build, render and sign again)`,
    );
  if (options.bundle !== undefined) {
    const expected = sha256File(options.bundle);
    if (expected !== sha256)
      throw new GramineLaunchError(
        "gramine_bundle_mismatch",
        `--enclave ${options.bundle} (SHA-256 ${expected}) is not the bundle the signed manifest ${manifestPath} runs (SHA-256 ${sha256}): sign the manifest of this bundle, or give the bundle it was signed for`,
      );
  }
  return { command, args: [name], cwd: dir, bundleSha256: sha256 };
}

/** The one signed manifest in `dir`, by name; none or several is an error naming what to give. */
function onlyManifestIn(dir: string): string {
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((entry) => entry.endsWith(SIGNED_SUFFIX))
        .map((entry) => entry.slice(0, -SIGNED_SUFFIX.length))
    : [];
  if (names.length === 1) return names[0]!;
  throw new GramineLaunchError(
    "gramine_manifest_missing",
    names.length === 0
      ? `${dir} holds no signed manifest (NAME${SIGNED_SUFFIX}): in the directory anonify enclave build --platform gramine-sgx wrote the template to, run gramine-manifest then gramine-sgx-sign (its .deployment.txt lists the commands)`
      : `${dir} holds several signed manifests (${names.join(", ")}): give --enclave to choose the bundle`,
  );
}

/** `command` as given when it is a path (it must be executable), else the first on `path`. */
function findLauncher(command: string, path: string | undefined): string {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    const file = isAbsolute(command) ? command : resolve(command);
    if (executable(file)) return file;
  } else {
    const found = (path ?? "")
      .split(delimiter)
      .filter((entry) => entry !== "")
      .map((entry) => join(entry, command))
      .find(executable);
    if (found) return found;
  }
  throw new GramineLaunchError(
    "gramine_not_found",
    `--gramine-command ${command}: ${command.includes("/") ? "not an executable file" : "not found on PATH"} (install Gramine 1.8 or later, which has gramine-sgx; gramine-direct runs the same manifest without SGX, to debug)`,
  );
}

type Table = { [key: string]: unknown };
const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The bundle the signed manifest runs (the file mounted where loader.argv names it) and its pinned SHA-256. */
function pinnedBundle(manifestPath: string): { file: string; sha256: string } {
  const invalid = (why: string) =>
    new GramineLaunchError("gramine_manifest_invalid", `${manifestPath}: ${why}`);
  let manifest: Table;
  try {
    manifest = parse(readFileSync(manifestPath, "utf8")) as Table;
  } catch (error) {
    throw invalid(`not TOML (${(error as Error).message.split("\n")[0]})`);
  }
  const at = (path: string): unknown =>
    path.split(".").reduce<unknown>((value, key) => (isTable(value) ? value[key] : undefined), manifest);
  const argv = at("loader.argv");
  if (!Array.isArray(argv) || argv[1] !== GRAMINE_PATHS.bundle)
    throw invalid(
      `loader.argv does not run ${GRAMINE_PATHS.bundle}: not a manifest of anonify enclave build`,
    );
  const mounts = at("fs.mounts");
  const mount = (Array.isArray(mounts) ? mounts : []).find(
    (entry) => isTable(entry) && entry.path === GRAMINE_PATHS.bundle,
  ) as Table | undefined;
  const uri = mount?.uri;
  if (typeof uri !== "string" || !uri.startsWith(FILE_URI))
    throw invalid(`no fs.mounts entry gives ${GRAMINE_PATHS.bundle} a file`);
  const trusted = at("sgx.trusted_files");
  const entry = (Array.isArray(trusted) ? trusted : []).find((item) => isTable(item) && item.uri === uri) as
    | Table
    | undefined;
  const sha256 = entry?.sha256;
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256))
    throw invalid(
      `sgx.trusted_files pins no SHA-256 for ${uri} (gramine-sgx-sign writes each trusted file's hash: sign the rendered manifest)`,
    );
  return { file: uri.slice(FILE_URI.length), sha256 };
}
