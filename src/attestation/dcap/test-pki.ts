// Test-only: a PKI of Intel's shape, made by the test that uses it (no key is kept anywhere), so
// that TDX evidence in the real formats can be made and judged by the real verifiers with this PKI's
// root pinned instead of Intel's (an explicit verifier option, or a test build's pinned root:
// src/build/pinned-roots.ts). Never in a release build: bundle-guard.ts refuses test code there.
//
//   root CA (ECDSA P-256, CA, path length 1) ── PCK Platform CA (CA, path length 0) ── PCK certificate
//                                            └─ TCB signing certificate
// The PCK certificate carries Intel's SGX extension (1.2.840.113741.1.13.1): PPID, the TCB (16 SGX
// component SVNs, PCESVN, CPUSVN), PCE ID, FMSPC, SGX type. The collateral is in the PCS JSON shape
// (collateral.ts): both CRLs, the issuer chains, TCB info v3 (id TDX) and QE identity v2 (id TD_QE),
// each signed (raw r || s over its exact text) by the TCB signing key.
import "reflect-metadata";
import { webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import * as x509 from "@peculiar/x509";
import { toHex } from "./bytes.js";
import { Tag } from "./der.js";
import { integer, octets, oid, sequence } from "./test-der.js";

const KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Certificates, CRLs and collateral are good from a little before `now` to this long after it. */
const VALID_DAYS = 30;
const SERIAL_BYTES = 16;
const POSITIVE_MASK = 0x7f;

const OID = {
  sgx: "1.2.840.113741.1.13.1",
  ppid: "1.2.840.113741.1.13.1.1",
  tcb: "1.2.840.113741.1.13.1.2",
  pceSvn: "1.2.840.113741.1.13.1.2.17",
  cpuSvn: "1.2.840.113741.1.13.1.2.18",
  pceId: "1.2.840.113741.1.13.1.3",
  fmspc: "1.2.840.113741.1.13.1.4",
  sgxType: "1.2.840.113741.1.13.1.5",
} as const;
/** SGX type 1: Scalable (the Xeon platforms TDX runs on). */
const SGX_TYPE_SCALABLE = 1;
const PPID_BYTES = 16;
const SVN_COMPONENTS = 16;

/** The platform and QE this PKI certifies: the values the real TDX sample of /work/shared/vectors has. */
export const TEST_PLATFORM = {
  fmspc: "00a06f000000",
  pceId: "0000",
  pceSvn: 11,
  cpuSvn: Uint8Array.from([3, 3, 25, 27, 4, 255, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]),
  /** TEE_TCB_SVN: module ISV SVN 6, module version 1 (TDX_01), late microcode 3. */
  teeTcbSvn: Uint8Array.from([6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  qe: {
    mrSigner: "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5",
    isvProdId: 2,
    isvSvn: 6,
    /** INIT | MODE64BIT | PROVISIONKEY, no DEBUG. */
    attributes: "15000000000000000000000000000000",
  },
  tcbEvaluationDataNumber: 17,
} as const;

export type TestPkiOptions = {
  /** The instant everything is made for (default: the clock); windows open a day before it. */
  now?: Date;
  /** Told apart in names, so a second PKI is visibly another (the attack tests' "other PKI"). */
  name?: string;
  /** Whose collateral (TCB info, QE identity) it issues: TDX's (default), or SGX's for quotes v3. */
  tee?: Tee;
};

type Tee = "tdx" | "sgx";

export type TdxTestPki = {
  name: string;
  rootPem: string;
  /** PCK certificate, Platform CA, root: as certification data type 5 carries it. */
  pckChainPem: string;
  pckKey: CryptoKey;
  /** The QE's attestation key, which signs quotes (its public half raw X || Y). */
  attestationKey: CryptoKey;
  attestationPublicKey: Uint8Array;
  /** The PCS JSON shape (hex for binaries), as `anonify collateral publish` takes it. */
  collateral: Record<string, string>;
};

/** ISO 8601 in seconds, as Intel writes its dates. */
const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");

const newKeys = async (): Promise<CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(KEY, true, ["sign", "verify"])) as CryptoKeyPair;

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(SERIAL_BYTES));
  bytes[0]! &= POSITIVE_MASK;
  return toHex(bytes);
}

/** Raw r || s, as Intel signs quotes, QE reports, TCB info and QE identity. */
export async function signRaw(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.sign(SIGNING, key, data));
}

type Issued = { cert: x509.X509Certificate; keys: CryptoKeyPair };

async function issue(
  subject: string,
  issuer: Issued | undefined,
  window: { notBefore: Date; notAfter: Date },
  extensions: x509.Extension[],
): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    // The issuer's subject as it encoded it: chaining compares the names byte for byte.
    issuer: issuer ? issuer.cert.subjectName : subject,
    ...window,
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    extensions,
  });
  return { cert, keys };
}

const CA_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
const SIGNER_USAGE = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;

/** Intel's SGX extension of a PCK certificate, for TEST_PLATFORM. */
function sgxExtension(): x509.Extension {
  const entry = (id: string, value: Uint8Array) => sequence(oid(id), value);
  const components = Array.from({ length: SVN_COMPONENTS }, (_, i) =>
    entry(`${OID.tcb}.${i + 1}`, integer(TEST_PLATFORM.cpuSvn[i]!)),
  );
  const value = sequence(
    entry(OID.ppid, octets(webcrypto.getRandomValues(new Uint8Array(PPID_BYTES)))),
    entry(
      OID.tcb,
      sequence(
        ...components,
        entry(OID.pceSvn, integer(TEST_PLATFORM.pceSvn)),
        entry(OID.cpuSvn, octets(TEST_PLATFORM.cpuSvn)),
      ),
    ),
    entry(OID.pceId, octets(Uint8Array.from(Buffer.from(TEST_PLATFORM.pceId, "hex")))),
    entry(OID.fmspc, octets(Uint8Array.from(Buffer.from(TEST_PLATFORM.fmspc, "hex")))),
    entry(OID.sgxType, integer(SGX_TYPE_SCALABLE, Tag.enumerated)),
  );
  return new x509.Extension(OID.sgx, false, value);
}

async function crl(issuer: Issued, window: { thisUpdate: Date; nextUpdate: Date }): Promise<string> {
  const list = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    ...window,
    signingAlgorithm: SIGNING,
    signingKey: issuer.keys.privateKey,
  });
  return toHex(new Uint8Array(list.rawData));
}

const pemOf = (...certs: Issued[]): string => certs.map((c) => `${c.cert.toString("pem")}\n`).join("");
const svns = (values: Uint8Array) => [...values].map((svn) => ({ svn }));

/** TCB info v3 for TEST_PLATFORM: SGX's (its components and PCESVN), or TDX's (with the module's too). */
function tcbInfo(issued: Date, nextUpdate: Date, tee: Tee): string {
  const tcbDate = isoSeconds(issued);
  const sgxTcb = { sgxtcbcomponents: svns(TEST_PLATFORM.cpuSvn), pcesvn: TEST_PLATFORM.pceSvn };
  const common = {
    version: 3,
    issueDate: isoSeconds(issued),
    nextUpdate: isoSeconds(nextUpdate),
    fmspc: TEST_PLATFORM.fmspc.toUpperCase(),
    pceId: TEST_PLATFORM.pceId,
    tcbType: 0,
    tcbEvaluationDataNumber: TEST_PLATFORM.tcbEvaluationDataNumber,
  };
  if (tee === "sgx")
    return JSON.stringify({
      id: "SGX",
      ...common,
      tcbLevels: [{ tcb: sgxTcb, tcbDate, tcbStatus: "UpToDate" }],
    });
  const moduleIdentity = {
    mrsigner: "00".repeat(48),
    attributes: "0000000000000000",
    attributesMask: "FFFFFFFFFFFFFFFF",
  };
  return JSON.stringify({
    id: "TDX",
    ...common,
    tdxModule: moduleIdentity,
    tdxModuleIdentities: [
      {
        id: "TDX_01",
        ...moduleIdentity,
        tcbLevels: [{ tcb: { isvsvn: TEST_PLATFORM.teeTcbSvn[0] }, tcbDate, tcbStatus: "UpToDate" }],
      },
    ],
    tcbLevels: [
      {
        tcb: { ...sgxTcb, tdxtcbcomponents: svns(TEST_PLATFORM.teeTcbSvn) },
        tcbDate,
        tcbStatus: "UpToDate",
      },
    ],
  });
}

function qeIdentity(issued: Date, nextUpdate: Date, tee: Tee): string {
  const { qe } = TEST_PLATFORM;
  return JSON.stringify({
    id: tee === "sgx" ? "QE" : "TD_QE",
    version: 2,
    issueDate: isoSeconds(issued),
    nextUpdate: isoSeconds(nextUpdate),
    tcbEvaluationDataNumber: TEST_PLATFORM.tcbEvaluationDataNumber,
    miscselect: "00000000",
    miscselectMask: "FFFFFFFF",
    attributes: "11000000000000000000000000000000",
    attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
    mrsigner: qe.mrSigner.toUpperCase(),
    isvprodid: qe.isvProdId,
    tcbLevels: [{ tcb: { isvsvn: qe.isvSvn }, tcbDate: isoSeconds(issued), tcbStatus: "UpToDate" }],
  });
}

/** A new PKI, its collateral and the QE's attestation key. */
export async function makeTdxTestPki(options: TestPkiOptions = {}): Promise<TdxTestPki> {
  const now = options.now ?? new Date();
  const name = options.name ?? "Anonify Test";
  const window = {
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + VALID_DAYS * DAY_MS),
  };
  const o = `O=${name} PKI (not Intel)`;
  const root = await issue(`CN=${name} SGX Root CA, ${o}`, undefined, window, [
    new x509.BasicConstraintsExtension(true, 1, true),
    new x509.KeyUsagesExtension(CA_USAGE, true),
  ]);
  const platformCa = await issue(`CN=${name} SGX PCK Platform CA, ${o}`, root, window, [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(CA_USAGE, true),
  ]);
  const pck = await issue(`CN=${name} SGX PCK Certificate, ${o}`, platformCa, window, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(SIGNER_USAGE, true),
    sgxExtension(),
  ]);
  const tcbSigner = await issue(`CN=${name} SGX TCB Signing, ${o}`, root, window, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(SIGNER_USAGE, true),
  ]);
  // Collateral issued an hour ago: "now" and a little before are inside every window.
  const issued = new Date(now.getTime() - HOUR_MS);
  const crlWindow = { thisUpdate: issued, nextUpdate: window.notAfter };
  const tee = options.tee ?? "tdx";
  const tcbInfoText = tcbInfo(issued, window.notAfter, tee);
  const qeIdentityText = qeIdentity(issued, window.notAfter, tee);
  const text = new TextEncoder();
  const signerChain = pemOf(tcbSigner, root);
  const attestation = await newKeys();
  const rawPublic = new Uint8Array(await webcrypto.subtle.exportKey("raw", attestation.publicKey));
  return {
    name,
    rootPem: root.cert.toString("pem"),
    pckChainPem: pemOf(pck, platformCa, root),
    pckKey: pck.keys.privateKey,
    attestationKey: attestation.privateKey,
    // An uncompressed point: 0x04 || X || Y.
    attestationPublicKey: rawPublic.subarray(1),
    collateral: {
      pck_crl_issuer_chain: pemOf(platformCa, root),
      root_ca_crl: await crl(root, crlWindow),
      pck_crl: await crl(platformCa, crlWindow),
      tcb_info_issuer_chain: signerChain,
      tcb_info: tcbInfoText,
      tcb_info_signature: toHex(await signRaw(tcbSigner.keys.privateKey, text.encode(tcbInfoText))),
      qe_identity_issuer_chain: signerChain,
      qe_identity: qeIdentityText,
      qe_identity_signature: toHex(await signRaw(tcbSigner.keys.privateKey, text.encode(qeIdentityText))),
    },
  };
}
