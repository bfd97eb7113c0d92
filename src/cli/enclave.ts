import type { Command } from "commander";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../build/enclave-bundle.js";

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
}
