// Test-only: a PKI of AMD's shape, made by the test that uses it (no key is kept anywhere), so that
// SEV-SNP evidence in the real formats (test-report.ts) can be made and judged by the real verifier
// with this PKI's ARK pinned instead of AMD's (an explicit verifier option, or a test build's pinned
// roots: src/build/pinned-roots.ts). Never in a release build: the build refuses test code there.
//
//   ARK-Genoa (RSA-4096, self-signed, CA) ── SEV-Genoa (ASK, RSA-4096, CA) ── SEV-VCEK (ECDSA P-384)
//
// Every signature is RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt, as AMD's (rsa-pss.ts
// verifies only that set); the keys are RSA-4096, as AMD's. The VCEK carries AMD's extensions
// (endorsement.ts): structVersion, productName, the SPLs of TEST_TCB, hwID (the chip id, bare).
// RSA-4096 keys take a second or more to make, so each PKI's CA keys are made once per process.
import "reflect-metadata";
import { webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import * as x509 from "@peculiar/x509";
import { toHex } from "../dcap/bytes.js";
import { integer, tlv } from "../dcap/test-der.js";
import { HWID_BYTES } from "./endorsement.js";
import type { AmdProduct, Tcb } from "./tcb.js";

const RSA_BITS = 4096;
const RSA_EXPONENT = Uint8Array.from([1, 0, 1]);
const HASH = "SHA-384";
/** SHA-384's output: the salt length AMD signs with. */
const SALT_BYTES = 48;
const CA_KEY = {
  name: "RSA-PSS",
  modulusLength: RSA_BITS,
  publicExponent: RSA_EXPONENT,
  hash: HASH,
} as const;
const CA_SIGNING = { name: "RSA-PSS", hash: HASH, saltLength: SALT_BYTES } as const;
const VCEK_KEY = { name: "ECDSA", namedCurve: "P-384" } as const;
const DAY_MS = 86_400_000;
/** Certificates are good from a day before `now` to this long after it. */
const VALID_DAYS = 30;
const SERIAL_BYTES = 16;
const POSITIVE_MASK = 0x7f;
const IA5_STRING = 0x16;

const AMD_ARC = "1.3.6.1.4.1.3704.1";
const OID = {
  structVersion: `${AMD_ARC}.1`,
  productName: `${AMD_ARC}.2`,
  bootloader: `${AMD_ARC}.3.1`,
  tee: `${AMD_ARC}.3.2`,
  snp: `${AMD_ARC}.3.3`,
  reservedSpls: [4, 5, 6, 7].map((n) => `${AMD_ARC}.3.${n}`),
  microcode: `${AMD_ARC}.3.8`,
  hwid: `${AMD_ARC}.4`,
} as const;
const VCEK_STRUCT_VERSION = 1;

/** The product this PKI stands for and the TCB its VCEK certifies (a Genoa's, as in the real v5 sample). */
export const TEST_PRODUCT: AmdProduct = "Genoa";
export const TEST_TCB: Tcb = { bootloader: 10, tee: 0, snp: 27, microcode: 88 };

export type SevSnpTestPkiOptions = {
  /** The instant the certificates are made for (default: the clock). */
  now?: Date;
  /** Told apart in the organisation name, so a second PKI is visibly another; also keys the CA cache. */
  name?: string;
};

export type SevSnpTestPki = {
  name: string;
  product: AmdProduct;
  arkPem: string;
  ark: Uint8Array;
  ask: Uint8Array;
  vcek: Uint8Array;
  /** The VCEK's private key, which signs reports (test-report.ts). */
  vcekKey: CryptoKey;
  /** The chip the VCEK is issued for: the report's CHIP_ID. */
  chipId: Uint8Array;
  tcb: Tcb;
};

type CaKeys = { ark: CryptoKeyPair; ask: CryptoKeyPair };
const caKeys = new Map<string, Promise<CaKeys>>();

const newCaKeys = async (): Promise<CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(CA_KEY, true, ["sign", "verify"])) as CryptoKeyPair;

/** The ARK and ASK keys of the PKI named `name`, made on first use in this process. */
function keysOf(name: string): Promise<CaKeys> {
  let keys = caKeys.get(name);
  if (keys === undefined) {
    keys = Promise.all([newCaKeys(), newCaKeys()]).then(([ark, ask]) => ({ ark, ask }));
    caKeys.set(name, keys);
  }
  return keys;
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(SERIAL_BYTES));
  bytes[0]! &= POSITIVE_MASK;
  return toHex(bytes);
}

/** AMD's subject names: its organisation (here the PKI's name) and the key's common name. */
const amdName = (cn: string, organisation: string) =>
  `CN=${cn}, OU=Engineering, C=US, L=Santa Clara, ST=CA, O=${organisation}`;

const CA_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** AMD's extensions of a VCEK for `tcb` on `chipId`. */
function vcekExtensions(product: AmdProduct, tcb: Tcb, chipId: Uint8Array): x509.Extension[] {
  const ext = (oid: string, value: Uint8Array) => new x509.Extension(oid, false, value);
  return [
    ext(OID.structVersion, integer(VCEK_STRUCT_VERSION)),
    ext(OID.productName, tlv(IA5_STRING, new TextEncoder().encode(product))),
    ext(OID.bootloader, integer(tcb.bootloader)),
    ext(OID.tee, integer(tcb.tee)),
    ext(OID.snp, integer(tcb.snp)),
    ...OID.reservedSpls.map((oid) => ext(oid, integer(0))),
    ext(OID.microcode, integer(tcb.microcode)),
    // AMD writes the chip id bare, not as an OCTET STRING.
    ext(OID.hwid, chipId.subarray(0, HWID_BYTES[product])),
  ];
}

/** A PKI of AMD's shape for TEST_PRODUCT, its VCEK certifying TEST_TCB on a random chip. */
export async function makeSevSnpTestPki(options: SevSnpTestPkiOptions = {}): Promise<SevSnpTestPki> {
  const now = options.now ?? new Date();
  const name = options.name ?? "Anonify Test";
  const product = TEST_PRODUCT;
  const organisation = `${name} AMD PKI`;
  const window = {
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + VALID_DAYS * DAY_MS),
  };
  const keys = await keysOf(name);
  const ark = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: amdName(`ARK-${product}`, organisation),
    ...window,
    signingAlgorithm: CA_SIGNING,
    keys: keys.ark,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(CA_USAGE, true),
    ],
  });
  const ask = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: amdName(`SEV-${product}`, organisation),
    // The issuer's subject as it encoded it: chaining compares the names byte for byte.
    issuer: ark.subjectName,
    ...window,
    signingAlgorithm: CA_SIGNING,
    publicKey: keys.ask.publicKey,
    signingKey: keys.ark.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_USAGE, true),
    ],
  });
  const vcekKeys = (await webcrypto.subtle.generateKey(VCEK_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
  const chipId = webcrypto.getRandomValues(new Uint8Array(HWID_BYTES[product]));
  const tcb = { ...TEST_TCB };
  const vcek = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: amdName("SEV-VCEK", organisation),
    issuer: ask.subjectName,
    ...window,
    signingAlgorithm: CA_SIGNING,
    publicKey: vcekKeys.publicKey,
    signingKey: keys.ask.privateKey,
    extensions: vcekExtensions(product, tcb, chipId),
  });
  return {
    name,
    product,
    arkPem: `${ark.toString("pem")}\n`,
    ark: new Uint8Array(ark.rawData),
    ask: new Uint8Array(ask.rawData),
    vcek: new Uint8Array(vcek.rawData),
    vcekKey: vcekKeys.privateKey,
    chipId,
    tcb,
  };
}

export type SevSnpTestCrlOptions = {
  /** Whose CRL it names itself (default the ARK, as AMD's KDS serves). */
  issuer?: "ark" | "ask";
  /** Whose key signs it (default the issuer's own: another one is a forgery). */
  signer?: "ark" | "ask";
  /** Certificates (DER) it revokes. */
  revoked?: readonly Uint8Array[];
  /** The instant it is made for (default: the clock): current from a day before to VALID_DAYS after. */
  now?: Date;
};

/** A CRL of `pki`'s shape (DER), as AMD's KDS serves one per product: RSASSA-PSS like its certificates. */
export async function makeSevSnpTestCrl(
  pki: SevSnpTestPki,
  options: SevSnpTestCrlOptions = {},
): Promise<Uint8Array> {
  const now = options.now ?? new Date();
  const issuerRole = options.issuer ?? "ark";
  const keys = await keysOf(pki.name);
  const issuer = new x509.X509Certificate(issuerRole === "ark" ? pki.ark : pki.ask);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: new Date(now.getTime() - DAY_MS),
    nextUpdate: new Date(now.getTime() + VALID_DAYS * DAY_MS),
    signingAlgorithm: CA_SIGNING,
    signingKey: keys[options.signer ?? issuerRole].privateKey,
    entries: (options.revoked ?? []).map((der) => ({
      serialNumber: new x509.X509Certificate(der).serialNumber,
      revocationDate: new Date(now.getTime() - DAY_MS),
    })),
  });
  return new Uint8Array(crl.rawData);
}
