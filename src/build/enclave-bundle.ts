// Builds the enclave program into one self-contained file, deterministically, and measures it:
// the measurement (MRENCLAVE analogue) is the SHA-256 of the bundle, which contains the enclave
// code, every library it uses, the one app it runs (app-bundle.ts) and the build configuration.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";
import { type Hex, keccak256, toBytes } from "viem";
import type { AppSummary } from "../boundary/call-results.js";
import { appIdentity, type EnclaveConfig } from "../enclave/context.js";
import { DEV_POLICY_KEYS } from "../protocol/dev-policy-keys.js";
import { appIdOf } from "../protocol/digests.js";
import { AppError, appModule, bundleApp, listed } from "./app-bundle.js";
import { BUILTINS_ONLY_REQUIRE, guardBundle } from "./bundle-guard.js";
import { build, DETERMINISTIC, REPO_ROOT, sha256Hex } from "./deterministic-build.js";
import { isTestBuild, TestBuildError, testBuildPlugins, testCodeIn } from "./pinned-roots.js";

/** The platforms a build can be for (the enclave's adapters), for the CLI's --platform. */
export { ENCLAVE_PLATFORMS, type EnclavePlatformName, isEnclavePlatform } from "../enclave/platform.js";
export { appCodeHash } from "./app-bundle.js";
export { REPO_ROOT } from "./deterministic-build.js";
export const ENCLAVE_ENTRY = join(REPO_ROOT, "src/enclave/main.ts");
export const DEFAULT_ENCLAVE_BUNDLE = join(REPO_ROOT, "dist/enclave/enclave.mjs");
/** Where `npm run build` puts one bundle per app of apps/ (`<name>.mjs`, its `.json` beside it). */
export const APP_BUNDLES_DIR = join(REPO_ROOT, "dist/enclave/apps");
const BUNDLE_EXTENSION = ".mjs";
export const appBundlePath = (app: string): string => join(APP_BUNDLES_DIR, `${app}${BUNDLE_EXTENSION}`);

/** The apps `npm run build` built a bundle of. */
export const builtApps = (): string[] =>
  existsSync(APP_BUNDLES_DIR)
    ? readdirSync(APP_BUNDLES_DIR)
        .filter((f) => f.endsWith(BUNDLE_EXTENSION))
        .map((f) => f.slice(0, -BUNDLE_EXTENSION.length))
        .sort()
    : [];

/** The bundle `npm run build` built for `app` (what `node start --app` runs); `unknown_app` if none. */
export function builtAppBundle(app: string): string {
  const apps = builtApps();
  // A name is one of the bundles listed, never a path.
  if (!apps.includes(app))
    throw new AppError(
      "unknown_app",
      `no app ${JSON.stringify(app)} is built: the apps are ${listed(apps)} ` +
        "(npm run build builds one bundle per app of apps/ into dist/enclave/apps)",
    );
  return appBundlePath(app);
}
/**
 * The release a build names unless told another (`anonify enclave build --release`): the package's
 * version. It is part of the measured configuration, so two releases of one tree are two builds.
 */
export const DEFAULT_RELEASE: string = JSON.parse(
  readFileSync(join(REPO_ROOT, "package.json"), "utf8"),
).version;

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
  version: DEFAULT_RELEASE,
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
  /** The release it names (`EnclaveConfig.version`), measured with the rest. */
  release: string;
  /** The app it runs, as the group knows it: a policy names `app.id` to admit it as an upgrade. */
  app: AppSummary;
};

/** What a build is configured with; the app's code hash it computes itself. */
export type BuildConfig = Omit<EnclaveConfig, "appCodeHash">;

/** `appsDir`: where the app's folder is (default: the repository's apps/; tests give a fixture's). */
export type MeasureEnclaveOptions = { config?: BuildConfig; entry?: string; appsDir?: string };
export type BuildEnclaveOptions = MeasureEnclaveOptions & { outFile?: string };

/** The bundle's bytes and what it is, nothing written: `unknown_app` for an app `appsDir` has not. */
async function bundleEnclave(options: MeasureEnclaveOptions) {
  const base = options.config ?? DEFAULT_ENCLAVE_CONFIG;
  const app = await bundleApp(base.app, options.appsDir);
  const config: EnclaveConfig = { ...base, appCodeHash: app.codeHash };
  const identity = appIdentity(app.definition, config);
  const result = await build({
    ...DETERMINISTIC,
    entryPoints: [options.entry ?? ENCLAVE_ENTRY],
    define: { __ANONIFY_ENCLAVE_CONFIG__: JSON.stringify(config) },
    // libsecp256k1's WebAssembly goes inside the bundle, so the measurement covers it too.
    loader: { ".wasm": "binary" },
    // The app's own module and nothing of any other app: each app's measurement is its own.
    // A test build's pinned roots and emulated kernel (pinned-roots.ts); a release build has none.
    plugins: [
      ...DETERMINISTIC.plugins,
      inlineSecp256k1Wasm,
      appModule(app.entry),
      ...testBuildPlugins(config),
    ],
    // A few CommonJS dependencies call require(); give the ESM bundle one, for built-ins alone.
    banner: { js: BUILTINS_ONLY_REQUIRE },
    metafile: true,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no enclave bundle");
  // The measured bundle runs only measured code: nothing it could load from disk.
  guardBundle(file.text, result.metafile);
  const testCode = isTestBuild(config) ? [] : testCodeIn(result.metafile);
  if (testCode.length > 0)
    throw new TestBuildError(`a release enclave bundle holds test code: ${testCode.join(", ")}`);
  const measured: Omit<EnclaveBundle, "path"> = {
    measurement: sha256Hex(file.contents),
    signerMeasurement: config.signerMeasurement,
    bytes: file.contents.length,
    release: config.version,
    app: { ...identity, id: appIdOf(identity) },
  };
  return { contents: file.contents, config, measured };
}

/** The measurement a build would have, with nothing written (`anonify enclave measure`). */
export async function measureEnclaveBundle(
  options: MeasureEnclaveOptions = {},
): Promise<Omit<EnclaveBundle, "path">> {
  return (await bundleEnclave(options)).measured;
}

export async function buildEnclaveBundle(options: BuildEnclaveOptions = {}): Promise<EnclaveBundle> {
  const { contents, config, measured } = await bundleEnclave(options);
  const outFile = options.outFile ?? DEFAULT_ENCLAVE_BUNDLE;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, contents);
  const bundle = { path: outFile, ...measured };
  writeFileSync(`${outFile}.json`, `${JSON.stringify({ ...bundle, path: undefined, config }, null, 2)}\n`);
  return bundle;
}

/** What the build wrote beside a bundle (`<bundle>.json`): its measurement and the app it runs. */
export function readBundleInfo(bundle = DEFAULT_ENCLAVE_BUNDLE): Omit<EnclaveBundle, "path"> {
  return JSON.parse(readFileSync(`${bundle}.json`, "utf8")) as Omit<EnclaveBundle, "path">;
}

/**
 * The platform the build that wrote `<bundle>.json` configured (a check for operators: the bundle
 * runs on the platform measured into it whatever this file says); undefined without that file.
 */
export function builtPlatform(bundle = DEFAULT_ENCLAVE_BUNDLE): string | undefined {
  if (!existsSync(`${bundle}.json`)) return undefined;
  const { config } = JSON.parse(readFileSync(`${bundle}.json`, "utf8")) as {
    config?: { platform?: unknown };
  };
  return typeof config?.platform === "string" ? config.platform : undefined;
}
