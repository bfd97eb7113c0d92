// `--test-roots FILE` (`anonify enclave build`) and `--root FILE` (`anonify attestation-service
// start`): PEM roots that replace the vendors' pinned ones, for a test PKI's evidence (or a private
// PKI's), never a deployment's. Which vendor's root each certificate stands for is read from it: a
// common name ARK-<product> is an AMD ARK (SEV-SNP), an ECDSA key an Intel-shaped root (SGX, TDX);
// anything else, or two of one kind, is refused, so a file means one thing.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RootOverrides } from "../attestation/root-overrides.js";
import { pemFingerprint } from "../build/pinned-roots.js";
import { OperatorError } from "../operator/operator-checks.js";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;
const ARK_COMMON_NAME = /^CN=ARK-(Milan|Genoa|Turin)$/m;

/** The roots in `file`, by vendor; `flag` names the option in errors. */
export function readRootOverrides(file: string, flag: string): RootOverrides {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new OperatorError("bad_roots", `${flag} ${file}: cannot read it (${(error as Error).message})`);
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new OperatorError("bad_roots", `${flag} ${file}: holds no PEM certificate`);
  const roots: RootOverrides = {};
  for (const block of blocks) {
    const pem = `${block.replace(/\r\n/g, "\n")}\n`;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new OperatorError("bad_roots", `${flag} ${file}: a certificate does not parse`);
    }
    const vendor = ARK_COMMON_NAME.test(cert.subject)
      ? "amd"
      : cert.publicKey.asymmetricKeyType === "ec"
        ? "intel"
        : undefined;
    if (vendor === undefined)
      throw new OperatorError(
        "bad_roots",
        `${flag} ${file}: ${cert.subject.replace(/\n/g, ", ")} is neither an AMD ARK (CN ARK-<product>) nor an ECDSA root of Intel's shape`,
      );
    if (roots[vendor] !== undefined)
      throw new OperatorError("bad_roots", `${flag} ${file}: holds two ${vendor} roots; give one`);
    roots[vendor] = pem;
  }
  return roots;
}

/** Each root's vendor and SHA-256, as a test build and the service print them. */
export const describeRoots = (roots: RootOverrides): string =>
  Object.entries(roots)
    .map(([vendor, pem]) => `${vendor} ${pemFingerprint(pem)}`)
    .join(", ");
