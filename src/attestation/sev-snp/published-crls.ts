// AMD's SEV-SNP CRLs as anyone publishes them on chain (src/protocol/sev-snp-crl-record.ts), for every
// member and registration to judge SEV-SNP evidence of that product against. ARK-signed, so who
// publishes them does not matter. A set is held only if every CRL in it is issued by one pinned ARK
// (the product it is for) and signed by it, judged at the instant it was issued (so what is held does
// not depend on any clock: every enclave that read the same events holds the same sets); per product
// the freshest set is held (its oldest CRL issued later than the held set's), so nobody can bring an
// older CRL back, one that does not yet revoke what AMD has revoked since. Windows against the
// clock are checked where evidence is judged (crl.ts: an expired CRL is refused by name there).
import { sameBytes } from "../dcap/bytes.js";
import { type AnyCrl, checkCrlIssued, parseAnyCrl } from "../dcap/crl.js";
import { VerificationError } from "../verdict.js";
import { type AmdRoot, explicitAmdRoot, pinnedAmdRoots } from "./chain.js";
import { crlToPem, signedByAmd } from "./crl.js";
import { decodeSevSnpReport, SEV_SNP_REPORT_SIZE } from "./report.js";
import { type AmdProduct, productOfCpuid } from "./tcb.js";

const LABEL = "sev-snp CRL";

/** What a member holds of one published CRL set (the record itself is kept beside it). */
export type SevSnpCrlHead = {
  /** `sev-snp:<product>`: the evidence this set judges (`sevSnpCrlKeyOfEvidence`). */
  key: string;
  platform: "sev-snp";
  product: AmdProduct;
  /** When its oldest CRL was issued, ms since the epoch (one part: compared as DCAP's heads are). */
  issued: number[];
  /** The earliest of its CRLs' next updates: past it, evidence judged against it does not verify. */
  nextUpdate: string;
};

const keyOf = (product: AmdProduct): string => `sev-snp:${product.toLowerCase()}`;

const rootsFor = (rootCertificatePem?: string): readonly AmdRoot[] =>
  rootCertificatePem === undefined ? pinnedAmdRoots() : [explicitAmdRoot(rootCertificatePem)];

/**
 * What a set says of itself, read without checking a signature: the product whose ARK names itself
 * its issuer (one for every CRL) and when it was issued. Cheap next to `verifyPublishedSevSnpCrls`.
 */
export function readSevSnpCrlHead(
  ders: readonly Uint8Array[],
  rootCertificatePem?: string,
): { crls: AnyCrl[]; root: AmdRoot; head: SevSnpCrlHead } {
  const roots = rootsFor(rootCertificatePem);
  const crls = ders.map((der, i) => parseAnyCrl(der, `${LABEL} ${i + 1}`));
  const issuers = crls.map((crl, i) => {
    const root = roots.find((r) => sameBytes(r.certificate.subject, crl.issuer));
    if (root === undefined) {
      const names = roots.map((r) => `ARK-${r.product}`).join(", ");
      throw new VerificationError(`${LABEL} ${i + 1}: not issued by a pinned AMD root (${names})`);
    }
    return root;
  });
  const root = issuers[0]!;
  const other = issuers.find((r) => r.product !== root.product);
  if (other !== undefined)
    throw new VerificationError(
      `${LABEL} set: CRLs of ARK-${root.product} and ARK-${other.product}: one product per set`,
    );
  const head: SevSnpCrlHead = {
    key: keyOf(root.product),
    platform: "sev-snp",
    product: root.product,
    issued: [Math.min(...crls.map((c) => c.thisUpdate.getTime()))],
    nextUpdate: new Date(Math.min(...crls.map((c) => c.nextUpdate.getTime()))).toISOString(),
  };
  return { crls, root, head };
}

/** Verifies a published set (DER CRLs) to the pinned ARKs, and names the evidence it judges. */
export function verifyPublishedSevSnpCrls(
  ders: readonly Uint8Array[],
  rootCertificatePem?: string,
): SevSnpCrlHead {
  const { crls, root, head } = readSevSnpCrlHead(ders, rootCertificatePem);
  const ark = root.certificate;
  for (const crl of crls) {
    // At the instant it was issued: whether it is current is the verifier's question, at its `now`.
    checkCrlIssued(crl, ark, crl.thisUpdate, `${LABEL} of ARK-${root.product}`, (c) => signedByAmd(c, ark));
  }
  return head;
}

/** The collateral the SEV-SNP verifier takes for a held set: its CRLs as PEM blocks. */
export const sevSnpCrlCollateral = (ders: readonly Uint8Array[]): string => ders.map(crlToPem).join("");

/**
 * The key of the CRL set that judges this evidence (its product, from the report's CPUID), or
 * undefined when the report names none (a v2 report: judged without a published CRL, and warned).
 */
export function sevSnpCrlKeyOfEvidence(evidence: Uint8Array): string | undefined {
  const report = decodeSevSnpReport(evidence.subarray(0, SEV_SNP_REPORT_SIZE));
  const product = report.cpuid && productOfCpuid(report.cpuid);
  return product === undefined ? undefined : keyOf(product);
}
