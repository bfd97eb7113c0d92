// Strict PEM (RFC 7468) for certificate chains: Intel's in quotes and collateral, a root passed as
// rootCertificatePem. A chain is CERTIFICATE blocks, each
//   "-----BEGIN CERTIFICATE-----" base64 of the DER, in lines "-----END CERTIFICATE-----"
// separated by whitespace only. The base64 must be canonical (padded, and unused low bits of the
// last digit zero), so that one certificate has exactly one encoding.
import { VerificationError } from "../verdict.js";
import { latin1Bytes } from "./bytes.js";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
const PEM_LINE_BREAKS = /\r?\n/g;
const BASE64_BODY = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64_QUANTUM = 4;
/** What may surround PEM blocks: whitespace and the NUL terminator Intel's quoting library appends. */
const PEM_FILLER = /^[\s\0]*$/;
/** Real chains have 2..5 certificates; the cap keeps hostile inputs from costing much. */
const MAX_PEM_CERTIFICATES = 8;

/** The DER of each CERTIFICATE block, in the order written. */
export function parsePemCertificates(text: string, label: string): Uint8Array[] {
  const ders: Uint8Array[] = [];
  let last = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (!PEM_FILLER.test(text.slice(last, match.index))) {
      throw new VerificationError(`${label}: unexpected text between PEM blocks`);
    }
    last = match.index + match[0].length;
    const body = match[1]!.replace(PEM_LINE_BREAKS, "");
    if (!BASE64_BODY.test(body) || body.length % BASE64_QUANTUM !== 0) {
      throw new VerificationError(`${label}: PEM block is not valid base64`);
    }
    // atob (in Node and browsers alike) ignores the unused low bits of the last digit; the round
    // trip refuses text where they are set.
    const binary = atob(body);
    if (btoa(binary) !== body) throw new VerificationError(`${label}: PEM block is not canonical base64`);
    ders.push(latin1Bytes(binary));
    if (ders.length > MAX_PEM_CERTIFICATES) throw new VerificationError(`${label}: too many certificates`);
  }
  if (!PEM_FILLER.test(text.slice(last))) {
    throw new VerificationError(`${label}: unexpected text after PEM blocks`);
  }
  if (ders.length === 0) throw new VerificationError(`${label}: no PEM certificate`);
  return ders;
}
