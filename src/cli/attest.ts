import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { TDX_MEASUREMENT_COMPONENTS, TDX_MEASUREMENT_TAG } from "../attestation/dcap.js";
import {
  DEVELOPMENT_POLICY,
  enforcePolicy,
  PolicyRejection,
  PRODUCTION_POLICY,
} from "../attestation/policy.js";
import { CRL_PEM_BEGIN, crlToPem } from "../attestation/sev-snp/crl.js";
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

/** `--certs` and `--crl` as the SEV-SNP verifier takes them: PEM text, the CRL as an X509 CRL block. */
function sevSnpCollateral(certs: string | undefined, crl: string | undefined): string | undefined {
  if (certs === undefined && crl === undefined) return undefined;
  const crlBytes = crl === undefined ? undefined : readFileSync(crl);
  const crlText = crlBytes?.toString("latin1");
  // AMD's KDS serves the CRL as DER; a PEM one is taken as it is.
  const crlPem =
    crlBytes && (crlText?.includes(CRL_PEM_BEGIN) ? crlText : crlToPem(new Uint8Array(crlBytes)));
  return (certs === undefined ? "" : readFileSync(certs, "utf8")) + (crlPem ?? "");
}

type VerifyFlags = {
  format: string;
  collateral?: string;
  certs?: string;
  crl?: string;
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
    .option(
      "--crl <file>",
      "for sev-snp: AMD's CRL for the product (KDS /vcek/v1/{product}/crl, DER or PEM); without it the verdict warns",
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
      const amd = flags.certs ?? flags.crl;
      if (amd !== undefined && flags.format !== "sev-snp")
        return fail("usage", "--certs and --crl are for --format sev-snp (sgx and tdx take --collateral)");
      if (amd !== undefined && flags.collateral !== undefined)
        return fail("usage", "--certs/--crl and --collateral are for different formats; give one");
      const now = flags.at ? new Date(flags.at) : new Date();
      if (Number.isNaN(now.getTime())) return fail("usage", `--at is not a time: ${flags.at}`);
      const policy = flags.policy ? POLICIES[flags.policy as keyof typeof POLICIES] : undefined;
      if (flags.policy && !policy) return fail("usage", `unknown policy ${flags.policy}`);
      try {
        const verdict = await VERIFIERS[flags.format](readEvidence(file), {
          now,
          collateral: amd
            ? sevSnpCollateral(flags.certs, flags.crl)
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
          if (verdict.vmpl !== undefined) console.log(`  VMPL                ${verdict.vmpl}`);
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
          for (const warning of verdict.warnings ?? []) console.log(`  warning: ${warning}`);
        }
      } catch (error) {
        if (error instanceof VerificationError) return fail("verification_failed", error.reason);
        if (error instanceof PolicyRejection) return fail("policy_rejected", error.reason);
        throw error;
      }
    });
}
