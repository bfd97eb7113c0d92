// AMD SEV-SNP evidence: the attestation report (sev-snp/report.ts), signed with ECDSA P-384 by the
// chip's VCEK or a cloud provider's VLEK, whose certificate chains through the ASK or ASVK to AMD's
// root for the product (Milan, Genoa, Turin; pinned, sev-snp/amd-roots.ts).
//
// Evidence = REPORT (1184 bytes) [ || CERTIFICATE TABLE ]: Linux configfs-tsm's `outblob` followed by
// its `auxblob` (sev-snp/cert-table.ts), so that what an enclave registers on chain is judged by
// every member and client alike with nothing else. A bare report takes its certificates as
// `options.collateral`: PEM text of the VCEK or VLEK, then its ASK or ASVK, then optionally the ARK
// (`anonify attest verify --format sev-snp --certs CHAIN.pem`); certificates in both places are refused.
// The collateral may also hold AMD's CRLs as "X509 CRL" PEM blocks (`--crl FILE`), alone beside a
// certificate table; each is checked against the chain (sev-snp/crl.ts), and without one the verdict
// warns that revocation was not checked.
//
// Checked, in this order (the first failure is the reason): the report's strict layout (version 2..5,
// reserved bytes, policy bits); the chain at `now` (sev-snp/chain.ts); the key kind the report names
// (VCEK or VLEK) is the certificate's; a v3+ report's CPUID names the product whose root the chain
// reaches; a VCEK's chip id is the report's CHIP_ID (unless the platform masks it: all zero);
// REPORTED_TCB is the TCB the certificate certifies, component by component; then the signature over bytes
// 0x000..0x29F. Report fields are compared before the signature so that a report paired with another
// chip's certificate is refused for that, by name.
//
// The verdict: measurement = MEASUREMENT (48 bytes; on chain as its SHA-256, like Nitro's PCR0);
// signerMeasurement = ID_KEY_DIGEST (zero without an ID block); debug = the guest policy's DEBUG bit;
// vmpl = VMPL (a policy accepts only 0, the guest kernel's own, unless it says otherwise: policy.ts);
// tcb = the reported TCB's components; tcbStatus "UpToDate" means only that AMD certified this TCB
// for this chip (AMD publishes no status to judge it against: a minimum is the relying party's);
// reportData = REPORT_DATA (64 bytes, the binding as for SGX and TDX).
import { concatBytes } from "@noble/hashes/utils.js";
import { isAllZero, sameBytes, toHex } from "./dcap/bytes.js";
import { verifyEcdsa } from "./dcap/ecdsa.js";
import { parsePemCertificates } from "./dcap/pem.js";
import { CertGuid, decodeCertTable } from "./sev-snp/cert-table.js";
import {
  type AmdCertificates,
  explicitAmdRoot,
  pinnedAmdRoots,
  type VerifiedChain,
  verifyAmdChain,
} from "./sev-snp/chain.js";
import { checkAmdRevocation, takePemCrls } from "./sev-snp/crl.js";
import { HWID_BYTES } from "./sev-snp/endorsement.js";
import {
  decodeSevSnpReport,
  policyAllowsDebug,
  SEV_SNP_REPORT_SIZE,
  type SevSnpReport,
} from "./sev-snp/report.js";
import { productOfCpuid, readTcb, type Tcb, type TcbComponent } from "./sev-snp/tcb.js";
import type { Verdict, Verifier, VerifyOptions } from "./verdict.js";
import { VerificationError } from "./verdict.js";

export { encodeCertTable } from "./sev-snp/cert-table.js";
export { decodeSevSnpReport, encodeSevSnpReport, SEV_SNP_REPORT_SIZE } from "./sev-snp/report.js";

const PEM_LABEL = "sev-snp certificates";
/** The endorsement key and its signer, and optionally the ARK. */
const MIN_PEM_CERTIFICATES = 2;
const MAX_PEM_CERTIFICATES = 3;

/** The evidence an enclave on SEV-SNP registers: the report, then the certificate table if any. */
export function sevSnpEvidence(report: Uint8Array, certTable?: Uint8Array): Uint8Array {
  return certTable === undefined ? report.slice() : concatBytes(report, certTable);
}

/** The report and the certificate table (undefined when the evidence is the report alone). */
export function splitSevSnpEvidence(evidence: Uint8Array): { report: Uint8Array; certTable?: Uint8Array } {
  if (!(evidence instanceof Uint8Array)) throw new VerificationError("sev-snp: evidence must be bytes");
  if (evidence.length < SEV_SNP_REPORT_SIZE) {
    throw new VerificationError(`sev-snp report: is ${evidence.length} bytes, not ${SEV_SNP_REPORT_SIZE}`);
  }
  const report = evidence.subarray(0, SEV_SNP_REPORT_SIZE);
  return evidence.length === SEV_SNP_REPORT_SIZE
    ? { report }
    : { report, certTable: evidence.subarray(SEV_SNP_REPORT_SIZE) };
}

export const verifySevSnpReport: Verifier = async (evidence, options) => {
  try {
    return verifyOrThrow(evidence, options);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // Whatever a parser below throws on hostile input, callers only ever see this type.
    throw new VerificationError("sev-snp: malformed evidence", { cause: error });
  }
};

function verifyOrThrow(evidence: Uint8Array, options: VerifyOptions): Verdict {
  const now = options?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new VerificationError("options.now must be a valid Date");
  }
  const { report: reportBytes, certTable } = splitSevSnpEvidence(evidence);
  const report = decodeSevSnpReport(reportBytes);
  const { crls, rest } = crlsOf(options.collateral);
  const certs = certificatesOf(report, certTable, rest);
  const roots =
    options.rootCertificatePem === undefined
      ? pinnedAmdRoots()
      : [explicitAmdRoot(options.rootCertificatePem)];
  const chain = verifyAmdChain(certs, roots, now);
  const warnings = checkAmdRevocation(crls, chain, now);
  const tcb = checkAgainstCertificate(report, chain);
  if (!verifyEcdsa(chain.certificate.publicKey, "sha384", report.signed, report.signature, "raw")) {
    throw new VerificationError(
      `sev-snp report: signature invalid (${chain.endorsement.kind.toUpperCase()})`,
    );
  }
  return { ...verdictOf(report, tcb), ...(warnings.length > 0 ? { warnings } : {}) };
}

/** The CRLs in PEM collateral, and the rest of it (the certificates; undefined if only CRLs). */
function crlsOf(collateral: unknown): { crls: Uint8Array[]; rest: unknown } {
  if (typeof collateral !== "string") return { crls: [], rest: collateral };
  const { crls, rest } = takePemCrls(collateral);
  return { crls, rest: crls.length > 0 && rest.trim() === "" ? undefined : rest };
}

/** The certificates from the evidence's table, or else from the PEM text passed as collateral. */
function certificatesOf(
  report: SevSnpReport,
  certTable: Uint8Array | undefined,
  collateral: unknown,
): AmdCertificates {
  if (certTable !== undefined) {
    if (collateral !== undefined) {
      throw new VerificationError("sev-snp: certificates come both with the evidence and as collateral");
    }
    const entries = decodeCertTable(certTable);
    const find = (guid: string) => entries.find((e) => e.guid === guid)?.bytes;
    const key = report.signingKey === "vcek" ? "VCEK" : "VLEK";
    const endorsement = find(CertGuid[report.signingKey]);
    const signer = find(CertGuid.ask);
    if (endorsement === undefined) throw new VerificationError(`sev-snp certificate table: no ${key}`);
    if (signer === undefined) throw new VerificationError("sev-snp certificate table: no ASK or ASVK");
    const root = find(CertGuid.ark);
    return root === undefined ? { endorsement, signer } : { endorsement, signer, root };
  }
  if (collateral === undefined) {
    throw new VerificationError(
      "sev-snp: no certificates: the evidence has no certificate table and no PEM chain was given (--certs)",
    );
  }
  if (typeof collateral !== "string") {
    throw new VerificationError(
      "sev-snp: collateral must be PEM text: the VCEK or VLEK, then its ASK or ASVK",
    );
  }
  const ders = parsePemCertificates(collateral, PEM_LABEL);
  if (ders.length < MIN_PEM_CERTIFICATES || ders.length > MAX_PEM_CERTIFICATES) {
    const held = `${ders.length} certificate${ders.length === 1 ? "" : "s"}`;
    const expected = "the VCEK or VLEK, its ASK or ASVK, and optionally the ARK";
    throw new VerificationError(`${PEM_LABEL}: holds ${held}; expected ${expected}`);
  }
  const [endorsement, signer, root] = ders as [Uint8Array, Uint8Array, Uint8Array | undefined];
  return root === undefined ? { endorsement, signer } : { endorsement, signer, root };
}

/** The report's claims the certificate must agree with; returns the reported TCB. */
function checkAgainstCertificate(report: SevSnpReport, chain: VerifiedChain): Tcb {
  const { product, endorsement } = chain;
  const key = endorsement.kind.toUpperCase();
  if (report.signingKey !== endorsement.kind) {
    const named = report.signingKey.toUpperCase();
    throw new VerificationError(`sev-snp: the report names the ${named} but the certificate is a ${key}`);
  }
  if (report.cpuid !== undefined) {
    const named = productOfCpuid(report.cpuid);
    if (named === undefined) {
      const { family, model } = report.cpuid;
      throw new VerificationError(
        `sev-snp report: CPUID family 0x${hex(family)} model 0x${hex(model)} is no known product`,
      );
    }
    if (named !== product) {
      throw new VerificationError(`sev-snp: the report is from ${named} but the chain is ${product}'s`);
    }
  }
  if (endorsement.hwid !== undefined && !isAllZero(report.chipId)) {
    const size = HWID_BYTES[product];
    if (
      !sameBytes(report.chipId.subarray(0, size), endorsement.hwid) ||
      !isAllZero(report.chipId.subarray(size))
    ) {
      throw new VerificationError(
        "sev-snp: the VCEK was issued for another chip (hwID is not the report's CHIP_ID)",
      );
    }
  }
  const tcb = readTcb(report.reportedTcb, product, "REPORTED_TCB");
  for (const name of Object.keys(endorsement.tcb) as TcbComponent[]) {
    if (tcb[name] !== endorsement.tcb[name]) {
      const certified = endorsement.tcb[name];
      throw new VerificationError(
        `sev-snp: reported TCB ${name} ${tcb[name]} is not the ${key}'s ${certified}`,
      );
    }
  }
  return tcb;
}

const hex = (n: number): string => n.toString(16).padStart(2, "0");

function verdictOf(report: SevSnpReport, tcb: Tcb): Verdict {
  const measurement = toHex(report.measurement);
  return {
    platform: "sev-snp",
    measurement,
    signerMeasurement: toHex(report.idKeyDigest),
    measurements: {
      measurement,
      host_data: toHex(report.hostData),
      id_key_digest: toHex(report.idKeyDigest),
      author_key_digest: toHex(report.authorKeyDigest),
      family_id: toHex(report.familyId),
      image_id: toHex(report.imageId),
    },
    debug: policyAllowsDebug(report.policy),
    vmpl: report.vmpl,
    tcbStatus: "UpToDate",
    advisoryIds: [],
    tcb: { ...tcb },
    reportData: toHex(report.reportData),
  };
}
