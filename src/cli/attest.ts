import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { TDX_MEASUREMENT_COMPONENTS, TDX_MEASUREMENT_TAG } from "../attestation/dcap.js";
import {
  DEVELOPMENT_POLICY,
  enforcePolicy,
  PolicyRejection,
  PRODUCTION_POLICY,
} from "../attestation/policy.js";
import { VerificationError } from "../attestation/verdict.js";
import { isEvidenceFormat, VERIFIERS } from "../attestation/verifiers.js";

const BASE64_TEXT = /^[A-Za-z0-9+/=\s]+$/;
const POLICIES = { production: PRODUCTION_POLICY, development: DEVELOPMENT_POLICY } as const;

/** Evidence files come raw (DCAP quotes, COSE documents) or base64-encoded (as Nitro SDKs often print them). */
export function readEvidence(path: string): Uint8Array {
  const bytes = readFileSync(path);
  const text = bytes.toString("latin1");
  if (BASE64_TEXT.test(text) && text.trim().length > 0)
    return new Uint8Array(Buffer.from(text.trim(), "base64"));
  return new Uint8Array(bytes);
}

type VerifyFlags = {
  format: string;
  collateral?: string;
  certs?: string;
  at?: string;
  root?: string;
  policy?: string;
  json: boolean;
};

export function registerAttestCommand(program: Command): void {
  const attest = program.command("attest").description("attestation evidence");
  attest
    .command("verify <file>")
    .description("verify SGX/TDX DCAP quotes, Nitro documents, SEV-SNP reports or simulated quotes")
    .requiredOption("--format <format>", `one of ${Object.keys(VERIFIERS).join(", ")}`)
    .option("--collateral <file>", "Intel PCS collateral (JSON) for sgx and tdx")
    .option(
      "--certs <pem-file>",
      "for sev-snp: the VCEK or VLEK, then its ASK or ASVK, in PEM (the ARK is pinned)",
    )
    .option("--at <iso-time>", "verify as of this time instead of now")
    .option(
      "--root <pem-file>",
      "pin this root certificate instead of the built-in one (private PKIs, tests)",
    )
    .option("--policy <name>", "also apply an attestation policy: production or development")
    .option("--json", "print the verdict as JSON", false)
    .action(async (file: string, flags: VerifyFlags) => {
      const fail = (code: string, reason: string) => {
        if (flags.json) console.log(JSON.stringify({ ok: false, code, reason }));
        else console.error(`evidence rejected (${code}): ${reason}`);
        process.exitCode = 1;
      };
      if (!isEvidenceFormat(flags.format)) return fail("usage", `unknown format ${flags.format}`);
      if (flags.certs !== undefined && flags.format !== "sev-snp")
        return fail("usage", "--certs is for --format sev-snp (sgx and tdx take --collateral)");
      if (flags.certs !== undefined && flags.collateral !== undefined)
        return fail("usage", "--certs and --collateral are for different formats; give one");
      const now = flags.at ? new Date(flags.at) : new Date();
      if (Number.isNaN(now.getTime())) return fail("usage", `--at is not a time: ${flags.at}`);
      const policy = flags.policy ? POLICIES[flags.policy as keyof typeof POLICIES] : undefined;
      if (flags.policy && !policy) return fail("usage", `unknown policy ${flags.policy}`);
      try {
        const verdict = await VERIFIERS[flags.format](readEvidence(file), {
          now,
          collateral: flags.certs
            ? readFileSync(flags.certs, "utf8")
            : flags.collateral
              ? JSON.parse(readFileSync(flags.collateral, "utf8"))
              : undefined,
          rootCertificatePem: flags.root ? readFileSync(flags.root, "utf8") : undefined,
        });
        if (policy) enforcePolicy(policy, verdict, now);
        if (flags.json) console.log(JSON.stringify({ ok: true, verdict }));
        else {
          console.log(`valid ${verdict.platform} evidence (as of ${now.toISOString()})`);
          console.log(`  measurement         ${verdict.measurement}`);
          if (verdict.platform === "tdx") {
            // The combined value is what the contract allow-lists; its components are printed below.
            const parts = [`"${TDX_MEASUREMENT_TAG}"`, ...TDX_MEASUREMENT_COMPONENTS].join(" || ");
            console.log(`    = SHA-256(${parts})`);
          }
          console.log(`  signer measurement  ${verdict.signerMeasurement}`);
          console.log(`  debug               ${verdict.debug}`);
          console.log(
            `  TCB status          ${verdict.tcbStatus}${verdict.advisoryIds.length ? ` (${verdict.advisoryIds.join(", ")})` : ""}`,
          );
          if (verdict.tcb) {
            const levels = Object.entries(verdict.tcb).map(([name, level]) => `${name} ${level}`);
            console.log(`  TCB                 ${levels.join(", ")}`);
          }
          console.log(`  report data         ${verdict.reportData}`);
          for (const [name, value] of Object.entries(verdict.measurements))
            console.log(`  ${name.padEnd(20)}${value}`);
        }
      } catch (error) {
        if (error instanceof VerificationError) return fail("verification_failed", error.reason);
        if (error instanceof PolicyRejection) return fail("policy_rejected", error.reason);
        throw error;
      }
    });
}
