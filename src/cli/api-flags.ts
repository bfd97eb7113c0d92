// `node start`'s flags for how its API is reached: `--trusted-proxy` (whose X-Forwarded-For names the
// client) and `--tls-cert/--tls-key` (HTTPS in the node itself). Checked before the node starts, so a
// wrong file is refused before anything is sent on chain.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { NodeApiTls } from "../host/api/api.js";
import { checkTrustedProxies } from "../host/api/client-address.js";
import type { Logger } from "../host/log.js";
import { OperatorError } from "../operator/operator-checks.js";

/** `--trusted-proxy` values, each an IP address or a CIDR range; else `bad_flag` naming the value. */
export function parseTrustedProxies(values: readonly string[]): string[] {
  for (const value of values) {
    try {
      checkTrustedProxies([value]);
    } catch {
      throw new OperatorError(
        "bad_flag",
        `--trusted-proxy must be an IP address or a CIDR range with a prefix of 1 or more ` +
          `(10.0.0.0/8, fd00::/8), not ${JSON.stringify(value)}`,
      );
    }
  }
  return [...values];
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot be read";
    throw new OperatorError("bad_flag", `${flag} ${file}: ${why}`);
  }
}

/**
 * The certificate and key `--tls-cert` and `--tls-key` name (both or neither): each must be a PEM file
 * of its kind, the key unencrypted and the certificate's own, the certificate not expired. Errors
 * name the flag and the file, never the key's content.
 */
export function readTlsFlags(
  certFile: string | undefined,
  keyFile: string | undefined,
): NodeApiTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined)
    throw new OperatorError("bad_flag", "--tls-key needs --tls-cert (the certificate it signs for)");
  if (keyFile === undefined)
    throw new OperatorError("bad_flag", "--tls-cert needs --tls-key (the certificate's private key)");
  const cert = readPem(certFile, "--tls-cert");
  const key = readPem(keyFile, "--tls-key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new OperatorError("bad_flag", `--tls-cert ${certFile}: not a PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new OperatorError(
      "bad_flag",
      `--tls-key ${keyFile}: not an unencrypted PEM private key (the node cannot ask for a passphrase)`,
    );
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(privateKey);
  } catch {
    // a key of another type than the certificate's: no match
  }
  if (!matches)
    throw new OperatorError(
      "bad_flag",
      `--tls-key ${keyFile} is not the private key of the certificate in --tls-cert ${certFile}`,
    );
  // Clients refuse an expired certificate: better said at start than by every client.
  if (Date.parse(certificate.validTo) <= Date.now())
    throw new OperatorError("bad_flag", `--tls-cert ${certFile}: expired on ${certificate.validTo}`);
  return { cert, key };
}

/**
 * On SIGHUP, reads `--tls-cert` and `--tls-key` again, with the same checks, and serves them to new
 * connections (a renewed certificate, without a restart); a pair that fails a check is logged and the
 * certificate served until then is kept.
 */
export function reloadTlsOnHangup(
  certFile: string,
  keyFile: string,
  setTls: (tls: NodeApiTls) => void,
  log: Logger,
): void {
  process.on("SIGHUP", () => {
    try {
      const tls = readTlsFlags(certFile, keyFile);
      if (tls) setTls(tls);
      log.info(`TLS certificate reloaded from ${certFile} (SIGHUP)`);
    } catch (error) {
      log.warn(
        `TLS certificate not reloaded (SIGHUP), the one before is still served: ${(error as Error).message}`,
      );
    }
  });
}
