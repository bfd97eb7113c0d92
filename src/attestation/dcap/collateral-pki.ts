// Certificate chains and CRLs of one quote and its collateral, all to the pinned Intel root.
// Every certificate of every chain must be covered by a verified, current CRL from its own issuer:
// the root CA CRL for what the root issued, the PCK CRL for the PCK certificate. A certificate no
// CRL covers fails closed.
import { VerificationError } from "../verdict.js";
import { sameBytes } from "./bytes.js";
import { type Collateral, checkCollateralWindow } from "./collateral.js";
import { assertNotRevoked, type Crl, parseCrl, verifyCrl } from "./crl.js";
import { parsePemCertificates } from "./pem.js";
import { type Certificate, KeyUsage, parseCertificate, verifyChain } from "./pki.js";
import { verifySignedBy } from "./signatures.js";

const SIGNING_LEAF = { endEntity: true, keyUsage: KeyUsage.digitalSignature } as const;
const CRL_ISSUER_LEAF = { endEntity: false, keyUsage: KeyUsage.cRLSign } as const;
const TEXT = new TextEncoder();

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

/** What the collateral's own checks verified: its CRLs and the certificates that signed its parts. */
export type VerifiedCollateral = {
  rootCrl: Crl;
  pckCrl: Crl;
  /** The certificate that issued the PCK CRL: the Processor or Platform CA. */
  pckCrlIssuer: Certificate;
};

/**
 * The collateral on its own, at `now`: both CRLs signed by their issuers and current, the TCB info
 * and QE identity signed by Intel's signing certificate and inside their windows, every signer chain
 * to `root` and covered by a CRL. What it cannot check alone (the PCK certificate's own chain and CA)
 * `verifyCollateralPki` adds.
 */
export function verifyCollateral(collateral: Collateral, root: Certificate, now: Date): VerifiedCollateral {
  const rootCrl = parseCrl(collateral.rootCaCrl, "root CA CRL");
  verifyCrl(rootCrl, root, now, "root CA CRL");

  const crlIssuerChain = chainFromPem(collateral.pckCrlIssuerChain, "PCK CRL issuer chain");
  const pckCrlIssuer = verifyChain(crlIssuerChain, root, now, "PCK CRL issuer chain", CRL_ISSUER_LEAF);
  const pckCrl = parseCrl(collateral.pckCrl, "PCK CRL");
  verifyCrl(pckCrl, pckCrlIssuer, now, "PCK CRL");

  const tcbChain = chainFromPem(collateral.tcbInfoIssuerChain, "TCB info issuer chain");
  const tcbSigner = verifyChain(tcbChain, root, now, "TCB info issuer chain", SIGNING_LEAF);
  verifySignedBy(tcbSigner, TEXT.encode(collateral.tcbInfoText), collateral.tcbInfoSignature, "TCB info");
  checkCollateralWindow(collateral.tcbInfo, now, "TCB info");
  const qeChain = chainFromPem(collateral.qeIdentityIssuerChain, "QE identity issuer chain");
  const qeSigner = verifyChain(qeChain, root, now, "QE identity issuer chain", SIGNING_LEAF);
  verifySignedBy(
    qeSigner,
    TEXT.encode(collateral.qeIdentityText),
    collateral.qeIdentitySignature,
    "QE identity",
  );
  checkCollateralWindow(collateral.qeIdentity, now, "QE identity");

  for (const [label, chain] of [
    ["PCK CRL issuer chain", crlIssuerChain],
    ["TCB info issuer chain", tcbChain],
    ["QE identity issuer chain", qeChain],
  ] as const) {
    checkRevocation(chain, [rootCrl, pckCrl], label);
  }
  return { rootCrl, pckCrl, pckCrlIssuer };
}

/** The collateral (`verifyCollateral`) and a quote's PCK chain together: returns the PCK certificate. */
export function verifyCollateralPki(
  pckChain: readonly Certificate[],
  collateral: Collateral,
  root: Certificate,
  now: Date,
): Certificate {
  const { rootCrl, pckCrl, pckCrlIssuer } = verifyCollateral(collateral, root, now);
  // The PCK CRL must come from the CA that issued this PCK certificate (Processor vs Platform CA).
  const pckIssuer = pckChain[pckChain.length - 2];
  if (pckIssuer === undefined || !sameBytes(pckIssuer.spki, pckCrlIssuer.spki)) {
    throw new VerificationError("PCK CRL is not from the PCK certificate's issuer");
  }
  checkRevocation(pckChain, [rootCrl, pckCrl], "PCK chain");
  return pckChain[pckChain.length - 1]!;
}

function checkRevocation(chain: readonly Certificate[], crls: readonly Crl[], label: string): void {
  chain.forEach((cert, i) => {
    const crl = crls.find((c) => sameBytes(c.issuer, cert.issuer));
    if (crl === undefined) throw new VerificationError(`${label}: no CRL covers certificate ${i}`);
    assertNotRevoked(cert, crl, `${label}: certificate ${i}`);
  });
}
