// `anonify enclave measure | build`: the enclave program, built deterministically. `build` writes a
// bundle whose measured configuration pins what it trusts: the profile (production: real platforms
// only, no debug) and the deployment's policy keys (k of n signers of the policy documents every
// member applies). Nothing a host sends adds to them; a node runs that bundle with
// `anonify node start --enclave FILE`, and the contract's owner allows its measurement.
import { resolve } from "node:path";
import type { Command } from "commander";
import { type BuildConfig, buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../build/enclave-bundle.js";
import { OperatorError } from "../operator/operator-checks.js";
import { collect, parsePolicyKeys } from "./deploy.js";
import { run } from "./output.js";

type BuildFlags = {
  app: string;
  out: string;
  profile: string;
  policySigner: string[];
  policyThreshold?: string;
  json: boolean;
};

/** The configuration a build pins, from its flags; refuses a production build without its own policy keys. */
export function buildConfig(flags: BuildFlags): BuildConfig {
  if (flags.profile !== "production" && flags.profile !== "development")
    throw new OperatorError(
      "bad_profile",
      `--profile is production or development, not ${JSON.stringify(flags.profile)}`,
    );
  const policyKeys = parsePolicyKeys(flags);
  if (!policyKeys) {
    if (flags.profile === "production")
      throw new OperatorError(
        "no_policy_keys",
        "a production build pins the deployment's own policy keys: --policy-signer ADDRESS (repeatable) and --policy-threshold K",
      );
    return { ...DEFAULT_ENCLAVE_CONFIG, app: flags.app };
  }
  return { ...DEFAULT_ENCLAVE_CONFIG, app: flags.app, profile: flags.profile, policyKeys };
}

export function registerEnclaveCommand(program: Command): void {
  const enclave = program.command("enclave").description("the enclave program");
  enclave
    .command("measure")
    .description("build the enclave bundle deterministically and print its measurement (hex)")
    .option("--app <name>", "the app the enclave runs", DEFAULT_ENCLAVE_CONFIG.app)
    .option("--json", "print measurement, signer measurement and bundle path as JSON", false)
    .action(async (flags: { app: string; json: boolean }) => {
      const bundle = await buildEnclaveBundle({ config: { ...DEFAULT_ENCLAVE_CONFIG, app: flags.app } });
      if (flags.json) console.log(JSON.stringify(bundle));
      else console.log(bundle.measurement.slice(2));
    });
  enclave
    .command("build")
    .description("build an enclave bundle that pins a profile and the deployment's policy keys")
    .requiredOption("--out <file>", "where to write the bundle")
    .option("--app <name>", "the app the enclave runs", DEFAULT_ENCLAVE_CONFIG.app)
    .option(
      "--profile <name>",
      "production (real platforms only, no debug; needs a hardware platform: docs/real-hardware.md) or development (also the simulated platform)",
      "development",
    )
    .option("--policy-signer <address>", "a policy signer the build pins (repeatable)", collect, [])
    .option("--policy-threshold <k>", "signatures of pinned signers a policy document needs")
    .option("--json", "machine-readable output", false)
    .action((flags: BuildFlags) =>
      run(flags, async () => {
        const config = buildConfig(flags);
        const bundle = await buildEnclaveBundle({ outFile: resolve(flags.out), config });
        const { threshold, signers } = config.policyKeys;
        if (flags.json) {
          console.log(
            JSON.stringify({ ok: true, ...bundle, profile: config.profile, policyKeys: config.policyKeys }),
          );
          return;
        }
        console.log(`enclave bundle written to ${bundle.path} (${bundle.bytes} bytes)`);
        console.log(`  measurement   ${bundle.measurement.slice(2)}`);
        console.log(`  app           ${bundle.app.name} v${bundle.app.stateVersion}, id ${bundle.app.id}`);
        console.log(`  profile       ${config.profile}`);
        console.log(
          `  policy keys   ${threshold} of ${signers.join(", ")}${config.policyKeys === DEFAULT_ENCLAVE_CONFIG.policyKeys ? " (the development keys, public on purpose)" : ""}`,
        );
        console.log(
          "The contract's owner allows it (anonify policy allow-measurement HEX); nodes run it with anonify node start --enclave FILE.",
        );
      }),
    );
}
