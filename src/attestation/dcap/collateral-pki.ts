// Certificate chains and CRLs of one quote and its collateral, all to the pinned Intel root.
// Every certificate of every chain must be covered by a verified, current CRL from its own issuer:
// the root CA CRL for what the root issued, the PCK CRL for the PCK certificate. A certificate no
// CRL covers fails closed.
import { VerificationError } from "../verdict.js";
import { sameBytes } from "./bytes.js";
import type { Collateral } from "./collateral.js";
import { assertNotRevoked, type Crl, parseCrl, verifyCrl } from "./crl.js";
import { type Certificate, KeyUsage, parseCertificate, parsePemCertificates, verifyChain } from "./pki.js";

export type VerifiedPki = { pck: Certificate; tcbSigner: Certificate; qeIdentitySigner: Certificate };

const SIGNING_LEAF = { endEntity: true, keyUsage: KeyUsage.digitalSignature } as const;
const CRL_ISSUER_LEAF = { endEntity: false, keyUsage: KeyUsage.cRLSign } as const;

/** PEM chains are leaf first; verifyChain wants the root first. */
export function chainFromPem(pem: string, label: string): Certificate[] {
  return parsePemCertificates(pem, label)
    .map((der, i) => parseCertificate(der, `${label}: certificate ${i}`))
    .reverse();
}

/** The PCK chain from the quote, verified to `root` at `now` (revocation is checked later). */
export function verifyPckChain(pckChainPem: string, root: Certificate, now: Date): Certificate[] {
  const chain = chainFromPem(pckChainPem, "PCK chain");
  verifyChain(chain, root, now, "PCK chain", SIGNING_LEAF);
  return chain;
}

export function verifyCollateralPki(
  pckChain: readonly Certificate[],
  collateral: Collateral,
  root: Certificate,
  now: Date,
): VerifiedPki {
  const rootCrl = parseCrl(collateral.rootCaCrl, "root CA CRL");
  verifyCrl(rootCrl, root, now, "root CA CRL");

  const crlIssuerChain = chainFromPem(collateral.pckCrlIssuerChain, "PCK CRL issuer chain");
  const crlIssuer = verifyChain(crlIssuerChain, root, now, "PCK CRL issuer chain", CRL_ISSUER_LEAF);
  const pckCrl = parseCrl(collateral.pckCrl, "PCK CRL");
  verifyCrl(pckCrl, crlIssuer, now, "PCK CRL");
  // The PCK CRL must come from the CA that issued this PCK certificate (Processor vs Platform CA).
  const pckIssuer = pckChain[pckChain.length - 2];
  if (pckIssuer === undefined || !sameBytes(pckIssuer.spki, crlIssuer.spki)) {
    throw new VerificationError("PCK CRL is not from the PCK certificate's issuer");
  }

  const tcbChain = chainFromPem(collateral.tcbInfoIssuerChain, "TCB info issuer chain");
  const tcbSigner = verifyChain(tcbChain, root, now, "TCB info issuer chain", SIGNING_LEAF);
  const qeChain = chainFromPem(collateral.qeIdentityIssuerChain, "QE identity issuer chain");
  const qeIdentitySigner = verifyChain(qeChain, root, now, "QE identity issuer chain", SIGNING_LEAF);

  const crls = [rootCrl, pckCrl];
  for (const [label, chain] of [
    ["PCK chain", pckChain],
    ["PCK CRL issuer chain", crlIssuerChain],
    ["TCB info issuer chain", tcbChain],
    ["QE identity issuer chain", qeChain],
  ] as const) {
    checkRevocation(chain, crls, label);
  }
  return { pck: pckChain[pckChain.length - 1]!, tcbSigner, qeIdentitySigner };
}

function checkRevocation(chain: readonly Certificate[], crls: readonly Crl[], label: string): void {
  chain.forEach((cert, i) => {
    const crl = crls.find((c) => sameBytes(c.issuer, cert.issuer));
    if (crl === undefined) throw new VerificationError(`${label}: no CRL covers certificate ${i}`);
    assertNotRevoked(cert, crl, `${label}: certificate ${i}`);
  });
}
