// Intel's SGX extension in PCK certificates (OID 1.2.840.113741.1.13.1): a SEQUENCE of
// (OID, value) pairs. We read the PCE ID to match it with the TCB info, and the FMSPC to find the
// collateral a quote is judged against; @phala/dcap-qvl reads FMSPC, CPUSVN and PCESVN itself.
import { VerificationError } from "../verdict.js";
import { toHex } from "./bytes.js";
import { children, expectTag, readOid, readSingle, Tag } from "./der.js";
import type { Certificate } from "./pki.js";

const OID_SGX_EXTENSION = "1.2.840.113741.1.13.1";
const OID_PCE_ID = "1.2.840.113741.1.13.1.3";
const PCE_ID_SIZE = 2;
const OID_FMSPC = "1.2.840.113741.1.13.1.4";
const FMSPC_SIZE = 6;

/** The PCK certificate's PCE ID, uppercase hex as the TCB info writes it. */
export function readPceId(pck: Certificate): string {
  return readOctets(pck, OID_PCE_ID, PCE_ID_SIZE, "PCE ID").toUpperCase();
}

/** The PCK certificate's FMSPC (the platform's family, model and stepping), lowercase hex. */
export function readFmspc(pck: Certificate): string {
  return readOctets(pck, OID_FMSPC, FMSPC_SIZE, "FMSPC").toLowerCase();
}

function readOctets(pck: Certificate, wanted: string, size: number, label: string): string {
  const extension = pck.extensions.get(OID_SGX_EXTENSION);
  if (extension === undefined) throw new VerificationError("PCK certificate: SGX extension missing");
  try {
    for (const entry of children(readSingle(extension, Tag.sequence))) {
      const [oid, value] = children(expectTag(entry, Tag.sequence));
      if (oid !== undefined && readOid(oid) === wanted) {
        const octets = expectTag(value, Tag.octetString).value;
        if (octets.length === size) return toHex(octets);
      }
    }
  } catch (error) {
    throw new VerificationError("PCK certificate: SGX extension malformed", { cause: error });
  }
  throw new VerificationError(`PCK certificate: ${label} missing`);
}
