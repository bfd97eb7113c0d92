// AMD's certificate revocation lists for SEV-SNP, as its KDS publishes them per product
// (`https://kdsintf.amd.com/vcek/v1/{product}/crl`, and `/vlek/v1/{product}/crl`): DER (or PEM
// "X509 CRL" blocks), RFC 5280, issued by the product's ARK and signed with RSASSA-PSS with AMD's
// parameters (rsa-pss.ts), like its certificates. AMD revokes through them the ASK or ASVK the ARK
// issued (it supersedes VCEKs by TCB rather than revoking them); a CRL issued by the ASK or ASVK, if
// one is given, is checked against the VCEK or VLEK too. Each CRL must be the chain's own ARK's (or
// ASK's), signed by it and current at `now`; one from anyone else is refused, not ignored.
//
// Without a CRL the verdict says so (a warning): nothing here goes online, so the relying party
// fetches the CRL and passes it, or knows that revocation was not checked.
import { latin1, latin1Bytes, sameBytes } from "../dcap/bytes.js";
import { type AnyCrl, assertNotRevoked, checkCrlIssued, parseAnyCrl } from "../dcap/crl.js";
import type { Certificate } from "../dcap/pki.js";
import { VerificationError } from "../verdict.js";
import type { VerifiedChain } from "./chain.js";
import { isAmdRsaPss, readRsaPublicKey, verifyRsaPss } from "./rsa-pss.js";

const LABEL = "sev-snp CRL";
/** How a CRL's PEM block begins. */
export const CRL_PEM_BEGIN = "-----BEGIN X509 CRL-----";
const CRL_BLOCK = /-----BEGIN X509 CRL-----([^-]*)-----END X509 CRL-----/g;
const LINE_BREAKS = /\r?\n/g;
const PEM_LINE = /.{1,64}/g;
const BASE64_BODY = /^[A-Za-z0-9+/]+={0,2}$/;
/** AMD publishes one CRL per product and key kind; a few more cost little, many are refused. */
const MAX_CRLS = 4;

/** Said in the verdict when no CRL was given. */
export const NO_CRL_WARNING =
  "no AMD CRL was given: the ASK or ASVK and the VCEK or VLEK were not checked for revocation (KDS /vcek/v1/{product}/crl)";

/** The PEM text with its CRL blocks taken out (the certificates are left), and each CRL's DER. */
export function takePemCrls(text: string): { rest: string; crls: Uint8Array[] } {
  const crls: Uint8Array[] = [];
  const rest = text.replace(CRL_BLOCK, (_block, body: string) => {
    const base64 = body.replace(LINE_BREAKS, "").trim();
    // The round trip refuses non-canonical base64 (one CRL has one encoding), as for certificates.
    if (!BASE64_BODY.test(base64) || btoa(atob(base64)) !== base64)
      throw new VerificationError(`${LABEL}: PEM block is not canonical base64`);
    crls.push(latin1Bytes(atob(base64)));
    return "";
  });
  if (crls.length > MAX_CRLS) throw new VerificationError(`${LABEL}: more than ${MAX_CRLS} CRLs`);
  return { rest, crls };
}

/** A DER CRL as one PEM block (RFC 7468: base64 in lines of 64), as the collateral carries it. */
export function crlToPem(der: Uint8Array): string {
  const lines = btoa(latin1(der)).match(PEM_LINE) ?? [];
  return `${CRL_PEM_BEGIN}\n${lines.join("\n")}\n-----END X509 CRL-----\n`;
}

/** Whether `crl` is signed by `issuer`'s RSA key with AMD's RSASSA-PSS parameters. */
export function signedByAmd(crl: AnyCrl, issuer: Certificate): boolean {
  const key = readRsaPublicKey(issuer.spki);
  return key !== undefined && isAmdRsaPss(crl.algorithm) && verifyRsaPss(key, crl.tbs, crl.signature);
}

/**
 * Checks each CRL against `chain` at `now`: issued and signed by its ARK (or its ASK or ASVK) and
 * current, and the certificate that issuer signed not revoked. Returns the verdict's warnings.
 */
export function checkAmdRevocation(crls: readonly Uint8Array[], chain: VerifiedChain, now: Date): string[] {
  if (crls.length === 0) return [NO_CRL_WARNING];
  const key = chain.endorsement.kind.toUpperCase();
  const issuers = [
    { cert: chain.root, name: `ARK-${chain.product}`, issued: chain.signer, issuedName: chain.signerName },
    { cert: chain.signer, name: chain.signerName, issued: chain.certificate, issuedName: key },
  ];
  for (const [i, der] of crls.entries()) {
    const crl = parseAnyCrl(der, `${LABEL} ${i + 1}`);
    const by = issuers.find((issuer) => sameBytes(crl.issuer, issuer.cert.subject));
    if (by === undefined)
      throw new VerificationError(
        `${LABEL} ${i + 1}: not issued by this chain's ARK-${chain.product} or ${chain.signerName}`,
      );
    const label = `${LABEL} of ${by.name}`;
    checkCrlIssued(crl, by.cert, now, label, (signed) => signedByAmd(signed, by.cert));
    assertNotRevoked(by.issued, crl, `sev-snp chain: ${by.issuedName}`);
  }
  return [];
}
