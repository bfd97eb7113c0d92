// `anonify enclave measure | build`: the enclave program, built deterministically for one platform
// (`--platform`: sim, or a hardware adapter of src/enclave/platforms). `build` writes a
// bundle whose measured configuration pins what it trusts: the profile (production: real platforms
// only, no debug) and the deployment's policy keys (k of n signers of the policy documents every
// member applies). Nothing a host sends adds to them; a node runs that bundle with
// `anonify node start --enclave FILE`, and the contract's owner allows its measurement. The release it
// names is measured too, so a new release of the same tree is a new build that a policy must admit.
import { resolve } from "node:path";
import type { Command } from "commander";
import { checkDeploymentOut, writeDeployment } from "../build/deployment.js";
import {
  type BuildConfig,
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_CONFIG,
  DEFAULT_RELEASE,
  ENCLAVE_PLATFORMS,
  type EnclavePlatformName,
  isEnclavePlatform,
  measureEnclaveBundle,
} from "../build/enclave-bundle.js";
import { OperatorError } from "../operator/operator-checks.js";
import { collect, parsePolicyKeys } from "./deploy.js";
import { registerEnclaveServe } from "./enclave-serve.js";
import { run } from "./output.js";
import { describeRoots, readRootOverrides } from "./root-flags.js";

/** A release name: a version or a word, as operators and status pages show it. */
const RELEASE_NAME = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

type BuildFlags = {
  app: string;
  /** sim when absent. */
  platform?: string;
  appsDir?: string;
  release: string;
  out: string;
  profile: string;
  policySigner: string[];
  policyThreshold?: string;
  /** A test build: roots pinned in place of the vendors' (root-flags.ts), an emulated kernel's tree. */
  testRoots?: string;
  emulatedRoot?: string;
  json: boolean;
};

/** The configuration a build pins, from its flags; refuses a production build without its own policy keys. */
export function buildConfig(flags: BuildFlags): BuildConfig {
  if (flags.profile !== "production" && flags.profile !== "development")
    throw new OperatorError(
      "bad_profile",
      `--profile is production or development, not ${JSON.stringify(flags.profile)}`,
    );
  if (!RELEASE_NAME.test(flags.release))
    throw new OperatorError(
      "bad_release",
      `--release is 1 to 64 letters, digits and . + _ - (starting with a letter or digit), not ${JSON.stringify(flags.release)}`,
    );
  const named: BuildConfig = {
    ...DEFAULT_ENCLAVE_CONFIG,
    app: flags.app,
    version: flags.release,
    platform: platformFlag(flags.platform),
    ...(flags.testRoots === undefined
      ? {}
      : { testRoots: readRootOverrides(flags.testRoots, "--test-roots") }),
    ...(flags.emulatedRoot === undefined ? {} : { emulatedRoot: resolve(flags.emulatedRoot) }),
  };
  const policyKeys = parsePolicyKeys(flags);
  if (!policyKeys) {
    if (flags.profile === "production")
      throw new OperatorError(
        "no_policy_keys",
        "a production build pins the deployment's own policy keys: --policy-signer ADDRESS (repeatable) and --policy-threshold K",
      );
    return named;
  }
  return { ...named, profile: flags.profile, policyKeys };
}

/** The platform a build is for (`--platform`): its adapter and the evidence it makes are measured in. */
export function platformFlag(name: string | undefined): EnclavePlatformName {
  const platform = name ?? DEFAULT_ENCLAVE_CONFIG.platform;
  if (!isEnclavePlatform(platform))
    throw new OperatorError(
      "bad_platform",
      `--platform is one of ${ENCLAVE_PLATFORMS.join(", ")}, not ${JSON.stringify(platform)}`,
    );
  return platform;
}

const PLATFORM_HELP = `the platform the enclave runs on: ${ENCLAVE_PLATFORMS.join(", ")} (measured; docs/real-hardware.md)`;

/** The apps folder a build reads (`--apps-dir`), from the current directory; else the package's. */
const appsDirOf = (flags: { appsDir?: string }) =>
  flags.appsDir === undefined ? {} : { appsDir: resolve(flags.appsDir) };

export function registerEnclaveCommand(program: Command): void {
  const enclave = program.command("enclave").description("the enclave program");
  registerEnclaveServe(enclave);
  enclave
    .command("measure")
    .description(
      "print the measurement (hex) of the development build of an app, building it in memory: nothing is written",
    )
    .option("--app <name>", "the app the enclave runs (a folder of --apps-dir)", DEFAULT_ENCLAVE_CONFIG.app)
    .option("--apps-dir <dir>", "the folder of apps, one per folder (default: this package's apps/)")
    .option("--platform <name>", PLATFORM_HELP, DEFAULT_ENCLAVE_CONFIG.platform)
    .option("--json", "print the measurement, release and app (with its code hash) as JSON", false)
    .action((flags: { app: string; appsDir?: string; platform: string; json: boolean }) =>
      run(flags, async () => {
        const measured = await measureEnclaveBundle({
          config: { ...DEFAULT_ENCLAVE_CONFIG, app: flags.app, platform: platformFlag(flags.platform) },
          ...appsDirOf(flags),
        });
        if (flags.json) console.log(JSON.stringify({ ok: true, ...measured }));
        else console.log(measured.measurement.slice(2));
      }),
    );
  enclave
    .command("build")
    .description("build an enclave bundle that pins a profile and the deployment's policy keys")
    .requiredOption("--out <file>", "where to write the bundle")
    .option("--app <name>", "the app the enclave runs (a folder of --apps-dir)", DEFAULT_ENCLAVE_CONFIG.app)
    .option("--apps-dir <dir>", "the folder of apps, one per folder (default: this package's apps/)")
    .option(
      "--release <name>",
      "the release this build names (measured: another release is another measurement)",
      DEFAULT_RELEASE,
    )
    .option("--platform <name>", PLATFORM_HELP, DEFAULT_ENCLAVE_CONFIG.platform)
    .option(
      "--profile <name>",
      "production (real platforms only, no debug; needs a hardware platform: docs/real-hardware.md) or development (also the simulated platform)",
      "development",
    )
    .option("--policy-signer <address>", "a policy signer the build pins (repeatable)", collect, [])
    .option("--policy-threshold <k>", "signatures of pinned signers a policy document needs")
    .option(
      "--test-roots <file>",
      "TEST BUILD: pin the PEM roots in FILE (a test PKI's Intel-shaped root and/or AMD ARK) in place of Intel's and AMD's; measured, never a deployment's",
    )
    .option(
      "--emulated-root <dir>",
      "TEST BUILD: tdx/sev-snp read configfs-tsm under DIR, answered by a test's quote service on DIR/qgs.sock (src/enclave/platforms/test-qgs.ts)",
    )
    .option("--json", "machine-readable output", false)
    .action((flags: BuildFlags) =>
      run(flags, async () => {
        const config = buildConfig(flags);
        if (config.testRoots !== undefined || config.emulatedRoot !== undefined) {
          // Loud whatever the output mode: this bundle must never be deployed.
          const roots = config.testRoots ? `pins test roots (${describeRoots(config.testRoots)})` : "";
          const tree = config.emulatedRoot ? `reads an emulated kernel under ${config.emulatedRoot}` : "";
          console.error(
            `WARNING: TEST BUILD: this enclave ${[roots, tree].filter(Boolean).join(" and ")}; its evidence means nothing on real hardware. Never deploy it.`,
          );
        }
        checkDeploymentOut(config.platform, resolve(flags.out));
        const bundle = await buildEnclaveBundle({ outFile: resolve(flags.out), config, ...appsDirOf(flags) });
        // What an operator deploys on hardware, beside the bundle (src/build/deployment.ts).
        const deployment = writeDeployment(config.platform, bundle);
        const { threshold, signers } = config.policyKeys;
        if (flags.json) {
          console.log(
            JSON.stringify({
              ok: true,
              ...bundle,
              platform: config.platform,
              profile: config.profile,
              policyKeys: config.policyKeys,
              testBuild: config.testRoots !== undefined || config.emulatedRoot !== undefined,
              deployment,
            }),
          );
          return;
        }
        console.log(`enclave bundle written to ${bundle.path} (${bundle.bytes} bytes)`);
        console.log(`  measurement   ${bundle.measurement.slice(2)}`);
        console.log(`  release       ${bundle.release}`);
        console.log(`  app           ${bundle.app.name} v${bundle.app.stateVersion}, id ${bundle.app.id}`);
        console.log(`  code hash     ${bundle.app.codeHash}`);
        console.log(`  platform      ${config.platform}`);
        console.log(`  profile       ${config.profile}`);
        console.log(
          `  policy keys   ${threshold} of ${signers.join(", ")}${config.policyKeys === DEFAULT_ENCLAVE_CONFIG.policyKeys ? " (the development keys, public on purpose)" : ""}`,
        );
        if (config.platform === "sim")
          console.log(
            "The contract's owner allows it (anonify policy allow-measurement HEX); nodes run it with anonify node start --enclave FILE.",
          );
        else {
          for (const file of deployment.files) console.log(`  deploy        ${file}`);
          for (const line of deployment.allowList) console.log(line);
          console.log("The runbook: docs/real-hardware.md.");
        }
      }),
    );
}
