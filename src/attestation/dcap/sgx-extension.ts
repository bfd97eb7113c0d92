// Intel's SGX extension in PCK certificates (OID 1.2.840.113741.1.13.1): a SEQUENCE of
// (OID, value) pairs. We read the PCE ID to match it with the TCB info; @phala/dcap-qvl reads
// FMSPC, CPUSVN and PCESVN itself.
import { VerificationError } from "../verdict.js";
import { toHex } from "./bytes.js";
import { children, expectTag, readOid, readSingle, Tag } from "./der.js";
import type { Certificate } from "./pki.js";

const OID_SGX_EXTENSION = "1.2.840.113741.1.13.1";
const OID_PCE_ID = "1.2.840.113741.1.13.1.3";
const PCE_ID_SIZE = 2;

/** The PCK certificate's PCE ID, uppercase hex as the TCB info writes it. */
export function readPceId(pck: Certificate): string {
  const extension = pck.extensions.get(OID_SGX_EXTENSION);
  if (extension === undefined) throw new VerificationError("PCK certificate: SGX extension missing");
  try {
    for (const entry of children(readSingle(extension, Tag.sequence))) {
      const [oid, value] = children(expectTag(entry, Tag.sequence));
      if (oid !== undefined && readOid(oid) === OID_PCE_ID) {
        const pceId = expectTag(value, Tag.octetString).value;
        if (pceId.length === PCE_ID_SIZE) return toHex(pceId).toUpperCase();
      }
    }
  } catch (error) {
    throw new VerificationError("PCK certificate: SGX extension malformed", { cause: error });
  }
  throw new VerificationError("PCK certificate: PCE ID missing");
}
