// A throwaway self-signed TLS certificate for 127.0.0.1, ::1 and localhost, made in the test that uses
// it (ECDSA P-256, with @peculiar/x509, a dependency already) and written as PEM files: no key
// material is kept in the repository.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 86_400_000;
/** An X.509 serial number: positive, here 16 random bytes. */
const SERIAL_BYTES = 16;

export type TlsFiles = {
  /** The certificate as PEM, and the path of its file. */
  cert: string;
  certFile: string;
  /** The certificate's private key (PKCS #8 PEM), and the path of its file (mode 0600). */
  key: string;
  keyFile: string;
};

const pem = (label: string, der: ArrayBuffer) => x509.PemConverter.encode(der, label);

/** A new key pair and a certificate for it, valid from a day ago for `validDays`, written under `dir` as `name`.pem/.key. */
export async function makeTlsFiles(dir: string, name: string, validDays = 1): Promise<TlsFiles> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(SERIAL_BYTES)));
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name: "CN=localhost",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + validDays * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
        { type: "dns", value: "localhost" },
      ]),
    ],
  });
  const cert = certificate.toString("pem");
  const key = pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, `${cert}\n`);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { cert, certFile, key, keyFile };
}
