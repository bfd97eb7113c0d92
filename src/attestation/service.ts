// The attestation service over HTTP: the role Intel IAS or a DCAP verification service plays. It
// verifies evidence, applies its policy and signs the report the Anonify contract checks. It holds no
// DCAP collateral: an SGX or TDX quote comes with the set the chain holds for it, a SEV-SNP report with
// AMD's CRLs the chain holds for its product (request-collateral.ts).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { type Hex, hexToBytes } from "viem";
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { attest } from "./attest.js";
import { type AttestationPolicy, PolicyRejection } from "./policy.js";
import { refuseCollateral } from "./request-collateral.js";
import { type RootOverrides, rootOverrideFor } from "./root-overrides.js";
import { VerificationError } from "./verdict.js";
import { isEvidenceFormat, VERIFIERS } from "./verifiers.js";

const SERVICE_KEY_FILE = "attestation-service-key";
/** A DCAP quote with its certificate chain is ~5 KiB, a Nitro document ~10 KiB. */
const MAX_EVIDENCE_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;

/** The service's signing key, kept in its data directory (mode 0600), made on first start. */
export function loadServiceKey(dataDir: string): PrivateKeyAccount {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, SERVICE_KEY_FILE);
  if (!existsSync(path)) {
    writeFileSync(path, generatePrivateKey(), { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return privateKeyToAccount(readFileSync(path, "utf8").trim() as Hex);
}

export type AttestationServiceOptions = {
  signer: PrivateKeyAccount;
  policy: AttestationPolicy;
  /** The clock; tests pin it. */
  now?: () => Date;
  /** Replaces the pinned roots: a test PKI's, in tests only (root-overrides.ts); never a default. */
  roots?: RootOverrides;
  logger?: boolean;
};

export function buildAttestationService(options: AttestationServiceOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: MAX_BODY_BYTES });
  const now = options.now ?? (() => new Date());

  app.get("/v1/health", async () => ({ ok: true }));
  app.get("/v1/service", async () => ({
    signer: options.signer.address,
    policy: options.policy,
    formats: Object.keys(VERIFIERS),
    // Public certificates: a node's host picks the collateral on chain that verifies to them.
    ...(options.roots ? { roots: options.roots } : {}),
  }));

  app.post<{ Body: { format: string; evidence: string; collateral?: unknown } }>(
    "/v1/attest",
    {
      schema: {
        body: {
          type: "object",
          required: ["format", "evidence"],
          additionalProperties: false,
          properties: {
            format: { type: "string", enum: Object.keys(VERIFIERS) },
            evidence: {
              type: "string",
              pattern: "^0x([0-9a-fA-F]{2})+$",
              maxLength: 2 + 2 * MAX_EVIDENCE_BYTES,
            },
            // Intel's PCS JSON for a DCAP quote; AMD's CRLs as PEM text for a SEV-SNP report.
            collateral: { anyOf: [{ type: "object" }, { type: "string", maxLength: MAX_BODY_BYTES }] },
          },
        },
      },
    },
    async (request, reply) => {
      const { format, evidence } = request.body;
      if (!isEvidenceFormat(format)) return reply.code(400).send({ code: "unknown_format", message: format });
      const { collateral } = request.body;
      const at = now();
      const root = rootOverrideFor(format, options.roots);
      const refused = refuseCollateral(format, evidence as Hex, collateral, at, root);
      if (refused) return reply.code(422).send(refused);
      try {
        const signed = await attest(
          { format, evidence: hexToBytes(evidence as Hex), collateral },
          {
            policy: options.policy,
            signer: options.signer,
            now: at,
            rootCertificatePem: root,
          },
        );
        return {
          report: signed.report,
          signature: signed.signature,
          signer: signed.signer,
          verdict: { ...signed.verdict, issuedAt: signed.verdict.issuedAt?.toISOString() },
        };
      } catch (error) {
        if (error instanceof VerificationError) {
          return reply.code(422).send({ code: "verification_failed", message: error.reason });
        }
        if (error instanceof PolicyRejection) {
          return reply.code(422).send({ code: "policy_rejected", message: error.reason });
        }
        throw error;
      }
    },
  );
  return app;
}

export type RunningService = { url: string; signer: Hex; close(): Promise<void> };

export async function startAttestationService(
  options: AttestationServiceOptions & { port?: number; host?: string },
): Promise<RunningService> {
  const app = buildAttestationService(options);
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  return { url: address, signer: options.signer.address, close: () => app.close() };
}
