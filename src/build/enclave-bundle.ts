// Builds the enclave program into one self-contained file, deterministically, and measures it:
// the measurement (MRENCLAVE analogue) is the SHA-256 of the bundle, which contains the enclave
// code, every library it uses, the app and the build configuration.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { type Hex, keccak256, toBytes } from "viem";
import { appNamed } from "../../apps/index.js";
import type { AppSummary } from "../boundary/call-results.js";
import { appIdentity, type EnclaveConfig } from "../enclave/context.js";
import { DEV_POLICY_KEYS } from "../protocol/dev-policy-keys.js";
import { appIdOf } from "../protocol/digests.js";

/** The package's root, found from this module whether it runs from source or from the CLI bundle. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "src/enclave/main.ts"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the anonify package root");
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = packageRoot();
export const ENCLAVE_ENTRY = join(REPO_ROOT, "src/enclave/main.ts");
export const DEFAULT_ENCLAVE_BUNDLE = join(REPO_ROOT, "dist/enclave/enclave.mjs");
export const ENCLAVE_VERSION = "0.1.0";

/**
 * The development signer's identity (MRSIGNER analogue). Like the SGX SDK's sample signing key it
 * is public: it identifies "built from this repository for development", nothing more.
 */
export const DEV_SIGNER_MEASUREMENT: Hex = keccak256(toBytes("anonify.dev-signer.v1"));

/**
 * The devnet's build: the simulated platform, so the development profile (which admits simulated
 * evidence, forgeable by anyone) and the development policy keys (public on purpose: anyone can sign
 * a development policy). A production build sets `profile: "production"`, a real platform and the
 * deployment's own policy keys.
 */
export const DEFAULT_ENCLAVE_CONFIG: BuildConfig = {
  app: "erc20",
  platform: "sim",
  profile: "development",
  policyKeys: DEV_POLICY_KEYS,
  signerMeasurement: DEV_SIGNER_MEASUREMENT,
  version: ENCLAVE_VERSION,
};

/**
 * tiny-secp256k1 reads its .wasm file from beside its module at run time; in the bundle that file
 * would sit outside the measurement. This loader imports the bytes instead (esbuild's binary loader).
 */
const inlineSecp256k1Wasm: Plugin = {
  name: "inline-secp256k1-wasm",
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /tiny-secp256k1[\\/]lib[\\/]wasm_loader\.js$/ }, (args) => ({
      resolveDir: dirname(args.path),
      loader: "js",
      contents: [
        'import binary from "./secp256k1.wasm";',
        'import * as rand from "./rand.js";',
        'import * as validate_error from "./validate_error.js";',
        'const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), { "./rand.js": rand, "./validate_error.js": validate_error });',
        "export default instance.exports;",
      ].join("\n"),
    }));
  },
};

export type EnclaveBundle = {
  path: string;
  measurement: Hex;
  signerMeasurement: Hex;
  bytes: number;
  /** The app it runs, as the group knows it: a policy names `app.id` to admit it as an upgrade. */
  app: AppSummary;
};

/** What a build is configured with; the app's code hash it computes itself. */
export type BuildConfig = Omit<EnclaveConfig, "appCodeHash">;

export type BuildEnclaveOptions = { outFile?: string; config?: BuildConfig; entry?: string };

/** esbuild's settings for both bundles: deterministic, relative paths, nothing minified. */
const DETERMINISTIC = {
  absWorkingDir: REPO_ROOT, // paths inside the bundle are relative, so the measurement is machine-independent
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  write: false,
  minify: false,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
} as const;

const sha256Hex = (bytes: Uint8Array): Hex => `0x${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * The app's code hash: the SHA-256 of the app's own bundle (its module and everything it imports),
 * built as the enclave is. Part of the app's identity (`appIdOf`): an app whose code changed is
 * another app to the group, admitted only as an upgrade a signed policy names.
 */
export async function appCodeHash(app: string): Promise<Hex> {
  const entry = join(REPO_ROOT, "apps", app, "index.ts");
  if (!existsSync(entry)) throw new Error(`no app ${app} (apps/${app}/index.ts)`);
  const result = await build({ ...DETERMINISTIC, entryPoints: [entry] });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no bundle of app ${app}`);
  return sha256Hex(file.contents);
}

export async function buildEnclaveBundle(options: BuildEnclaveOptions = {}): Promise<EnclaveBundle> {
  const base = options.config ?? DEFAULT_ENCLAVE_CONFIG;
  const app = appNamed(base.app);
  if (!app) throw new Error(`no app ${base.app} in apps/index.ts`);
  const config: EnclaveConfig = { ...base, appCodeHash: await appCodeHash(base.app) };
  const identity = appIdentity(app, config);
  const outFile = options.outFile ?? DEFAULT_ENCLAVE_BUNDLE;
  const result = await build({
    ...DETERMINISTIC,
    entryPoints: [options.entry ?? ENCLAVE_ENTRY],
    define: { __ANONIFY_ENCLAVE_CONFIG__: JSON.stringify(config) },
    // libsecp256k1's WebAssembly goes inside the bundle, so the measurement covers it too.
    loader: { ".wasm": "binary" },
    plugins: [inlineSecp256k1Wasm],
    // A few CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __anonifyRequire } from 'node:module'; const require = __anonifyRequire(import.meta.url);",
    },
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no enclave bundle");
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, file.contents);
  const measurement = sha256Hex(file.contents);
  const bundle = {
    path: outFile,
    measurement,
    signerMeasurement: config.signerMeasurement,
    bytes: file.contents.length,
    app: { ...identity, id: appIdOf(identity) },
  };
  writeFileSync(`${outFile}.json`, `${JSON.stringify({ ...bundle, path: undefined, config }, null, 2)}\n`);
  return bundle;
}

/** What the build wrote beside a bundle (`<bundle>.json`): its measurement and the app it runs. */
export function readBundleInfo(bundle = DEFAULT_ENCLAVE_BUNDLE): Omit<EnclaveBundle, "path"> {
  return JSON.parse(readFileSync(`${bundle}.json`, "utf8")) as Omit<EnclaveBundle, "path">;
}
