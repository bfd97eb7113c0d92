import { resolve } from "node:path";
import type { Command } from "commander";
import { DEVELOPMENT_POLICY, PRODUCTION_POLICY } from "../attestation/policy.js";
import { loadServiceKey, startAttestationService } from "../attestation/service.js";
import { MAX_VMPL } from "../protocol/policy-vmpl.js";
import { describeRoots, readRootOverrides } from "./root-flags.js";

type ServiceFlags = {
  port: string;
  host: string;
  dataDir: string;
  policy: string;
  root?: string;
  maxVmpl?: string;
  json: boolean;
};

export function registerAttestationServiceCommand(program: Command): void {
  const service = program.command("attestation-service").description("the attestation service");
  service
    .command("start")
    .description("verify evidence over HTTP and sign reports for the Anonify contract")
    .option("--port <port>", "port to listen on (0: any free port)", "0")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "where the service keeps its signing key", ".anonify/attestation-service")
    .option("--policy <name>", "production (hardware only, UpToDate, no debug) or development", "production")
    .option(
      "--root <file>",
      "judge evidence against the PEM roots in FILE (a test or private PKI's Intel-shaped root and/or AMD ARK) instead of Intel's and AMD's",
    )
    .option(
      "--max-vmpl <n>",
      "accept SEV-SNP reports from VMPL 0 to N (an SVSM deployment; its members admit them after a signed policy's --max-vmpl)",
    )
    .option("--json", "print one JSON line (url, signer, policy) once serving, for scripts", false)
    .action(async (flags: ServiceFlags) => {
      const named = flags.policy === "development" ? DEVELOPMENT_POLICY : PRODUCTION_POLICY;
      if (flags.policy !== "development" && flags.policy !== "production") {
        console.error(`unknown policy ${flags.policy}`);
        process.exit(2);
      }
      if (flags.maxVmpl !== undefined && !new RegExp(`^[0-${MAX_VMPL}]$`).test(flags.maxVmpl)) {
        console.error(`--max-vmpl is a VMPL, 0 to ${MAX_VMPL}`);
        process.exit(2);
      }
      const policy = flags.maxVmpl === undefined ? named : { ...named, maxVmpl: Number(flags.maxVmpl) };
      const signer = loadServiceKey(resolve(flags.dataDir));
      const roots = flags.root === undefined ? undefined : readRootOverrides(flags.root, "--root");
      if (roots) console.error(`WARNING: the pinned vendor roots are replaced: ${describeRoots(roots)}`);
      const running = await startAttestationService({
        signer,
        policy,
        roots,
        port: Number(flags.port),
        host: flags.host,
      });
      if (flags.json)
        console.log(
          JSON.stringify({ ok: true, url: running.url, signer: running.signer, policy: policy.name }),
        );
      else
        console.log(
          `attestation service on ${running.url} (policy ${policy.name}, signer ${running.signer})`,
        );
      const stop = async () => {
        await running.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
