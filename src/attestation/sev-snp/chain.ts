// AMD's SEV-SNP certificate chain, judged against the pinned roots (sev-snp/amd-roots.ts):
//
//   ARK-<product> (pinned, self-signed) -> SEV-<product> (ASK) -> SEV-VCEK
//                                       -> SEV-VLEK-<product> (ASVK) -> SEV-VLEK
//
// The ASK or ASVK is found among the evidence's certificates; its issuer picks the pinned ARK (so
// its product). An ARK given with the evidence must be that pinned one byte for byte: a root carried
// in evidence earns no trust by itself. Every certificate must be valid at `now`; the ARK and the
// ASK/ASVK must be CAs allowed to sign certificates; each certificate's issuer name is its signer's
// subject, and each signature is RSASSA-PSS with AMD's parameters (sev-snp/rsa-pss.ts) by its
// signer's RSA key. The endorsement key (VCEK or VLEK) is an end entity with a P-384 key, a VCEK
// under an ASK and a VLEK under an ASVK, for the same product. AMD's CRLs, when given, are checked
// against this chain afterwards (sev-snp/crl.ts; nothing here goes online).
import { sha256 } from "@noble/hashes/sha2.js";
import { sameBytes, toHex } from "../dcap/bytes.js";
import { children, readSingle, Tag } from "../dcap/der.js";
import {
  type Certificate,
  checkValidityWindow,
  KeyUsage,
  parseCertificate,
  parseLabelled,
  parseRootPem,
} from "../dcap/pki.js";
import { VerificationError } from "../verdict.js";
import { AMD_ARKS } from "./amd-roots.js";
import { commonNameOf, type Endorsement, readEndorsement } from "./endorsement.js";
import { isAmdRsaPss, readRsaPublicKey, verifyRsaPss } from "./rsa-pss.js";
import { AMD_PRODUCTS, type AmdProduct } from "./tcb.js";

const LABEL = "sev-snp chain";
const CERTIFICATE_PARTS = 3;
const ENDORSEMENT_CURVE = "P-384";

/** A pinned root: its certificate and the product it is the root of. */
export type AmdRoot = { product: AmdProduct; certificate: Certificate };

/** The certificates that come with a report: the endorsement key, its signer, optionally the ARK. */
export type AmdCertificates = { endorsement: Uint8Array; signer: Uint8Array; root?: Uint8Array };

export type VerifiedChain = {
  product: AmdProduct;
  certificate: Certificate;
  endorsement: Endorsement;
  /** The ARK and the ASK or ASVK (its common name as `signerName`): what CRLs are judged against. */
  root: Certificate;
  signer: Certificate;
  signerName: string;
};

let pinned: readonly AmdRoot[] | undefined;

/** AMD's ARKs, parsed once; each must hash to the fingerprint pinned beside it. */
export function pinnedAmdRoots(): readonly AmdRoot[] {
  pinned ??= AMD_ARKS.map(({ product, pem, sha256: fingerprint }) => {
    const certificate = parseRootPem(pem, `ARK-${product}`);
    if (toHex(sha256(certificate.der)) !== fingerprint) {
      throw new VerificationError(
        `ARK-${product}: pinned certificate does not match its SHA-256 fingerprint`,
      );
    }
    return { product, certificate };
  });
  return pinned;
}

/** A root passed explicitly (tests, private PKIs): its common name, ARK-<product>, says its product. */
export function explicitAmdRoot(pem: string): AmdRoot {
  const certificate = parseRootPem(pem, "rootCertificatePem");
  const cn = parseLabelled("rootCertificatePem", "name", () => commonNameOf(certificate.subject));
  const product = AMD_PRODUCTS.find((p) => cn === `ARK-${p}`);
  if (product === undefined) {
    throw new VerificationError(`rootCertificatePem: common name ${cn ?? "(none)"} names no AMD product`);
  }
  return { product, certificate };
}

/** Whether `cert` is signed by `signer` with AMD's RSASSA-PSS parameters. */
function signedBy(cert: Certificate, signer: Certificate, label: string): boolean {
  return parseLabelled(label, "certificate", () => {
    const key = readRsaPublicKey(signer.spki);
    const parts = children(readSingle(cert.der, Tag.sequence));
    if (parts.length !== CERTIFICATE_PARTS) return false;
    if (key === undefined || cert.signature === undefined || !isAmdRsaPss(parts[1]!)) return false;
    return verifyRsaPss(key, cert.tbs, cert.signature);
  });
}

function checkIssued(cert: Certificate, issuer: Certificate, label: string): void {
  if (!issuer.ca) throw new VerificationError(`${label}: its issuer is not a CA`);
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsage.keyCertSign) === 0) {
    throw new VerificationError(`${label}: its issuer may not sign certificates`);
  }
  if (!sameBytes(cert.issuer, issuer.subject)) throw new VerificationError(`${label}: issuer name mismatch`);
  if (!signedBy(cert, issuer, label)) throw new VerificationError(`${label}: signature invalid`);
}

function commonName(cert: Certificate, label: string): string | undefined {
  return parseLabelled(label, "name", () => commonNameOf(cert.subject));
}

/**
 * Verifies the endorsement key's certificate to one of `roots` at `now` and reads its extensions.
 * Throws a VerificationError naming the certificate and the check that failed.
 */
export function verifyAmdChain(certs: AmdCertificates, roots: readonly AmdRoot[], now: Date): VerifiedChain {
  const endorsement = parseCertificate(certs.endorsement, `${LABEL}: VCEK or VLEK`);
  const signer = parseCertificate(certs.signer, `${LABEL}: ASK or ASVK`);
  const root = roots.find((r) => sameBytes(r.certificate.subject, signer.issuer));
  if (root === undefined) {
    const names = roots.map((r) => `ARK-${r.product}`).join(", ");
    throw new VerificationError(`${LABEL}: the ASK or ASVK is not issued by a pinned AMD root (${names})`);
  }
  const arkLabel = `${LABEL}: ARK-${root.product}`;
  if (certs.root !== undefined && !sameBytes(certs.root, root.certificate.der)) {
    throw new VerificationError(`${arkLabel}: the root given is not the pinned one`);
  }
  const signerName = commonName(signer, `${LABEL}: ASK or ASVK`);
  const signerKind =
    signerName === `SEV-${root.product}`
      ? "vcek"
      : signerName === `SEV-VLEK-${root.product}`
        ? "vlek"
        : undefined;
  const signerLabel = `${LABEL}: ${signerName ?? "ASK or ASVK"}`;
  if (signerKind === undefined) {
    throw new VerificationError(
      `${signerLabel}: is neither SEV-${root.product} nor SEV-VLEK-${root.product}`,
    );
  }
  const endorsementLabel = `${LABEL}: ${signerKind === "vcek" ? "VCEK" : "VLEK"}`;
  checkValidityWindow(root.certificate, now, arkLabel);
  checkValidityWindow(signer, now, signerLabel);
  checkValidityWindow(endorsement, now, endorsementLabel);
  checkIssued(signer, root.certificate, signerLabel);
  checkIssued(endorsement, signer, endorsementLabel);
  if (endorsement.ca) throw new VerificationError(`${endorsementLabel}: is a CA`);
  const usage = endorsement.keyUsage;
  if (usage !== undefined && (usage & KeyUsage.digitalSignature) === 0) {
    throw new VerificationError(`${endorsementLabel}: key usage does not allow signing`);
  }
  if (endorsement.publicKey?.curve !== ENDORSEMENT_CURVE) {
    throw new VerificationError(`${endorsementLabel}: key is not ECDSA P-384`);
  }
  const read = readEndorsement(endorsement, root.product, endorsementLabel);
  if (read.kind !== signerKind) {
    throw new VerificationError(`${endorsementLabel}: a ${read.kind.toUpperCase()} under ${signerName}`);
  }
  // Product names carry a stepping for VCEKs ("Milan-B0"); the family must be the root's.
  if (read.productName.split("-")[0] !== root.product) {
    throw new VerificationError(`${endorsementLabel}: product ${read.productName} is not ${root.product}`);
  }
  return {
    product: root.product,
    certificate: endorsement,
    endorsement: read,
    root: root.certificate,
    signer,
    signerName: signerName ?? "ASK",
  };
}
