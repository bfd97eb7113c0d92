// Field 6 of a signed policy document (src/protocol/policy-document.ts): the highest SEV-SNP VMPL
// whose reports members admit. A guest kernel asks for its report at VMPL 0 unless it runs under an
// SVSM (which holds VMPL 0 itself and leaves the kernel VMPL 1 or more); production admits only VMPL 0
// (src/attestation/policy.ts), so such a deployment's signers raise it here. Byte layout of its body:
//
//   size  field
//   1     maxVmpl  u8, 0 to 3 (SEV-SNP has four VMPLs); anything else is refused
//
// Absent, the previous document's stands (none: 0, the production profile's own).
import { PolicyError } from "./policy-document.js";

/** VMPL 0..3: AMD's SEV-SNP has four privilege levels. */
export const MAX_VMPL = 3;
const BODY_BYTES = 1;

function checkVmpl(maxVmpl: number): number {
  if (!Number.isInteger(maxVmpl) || maxVmpl < 0 || maxVmpl > MAX_VMPL)
    throw new PolicyError(`max-vmpl ${maxVmpl} is not a VMPL (0 to ${MAX_VMPL})`);
  return maxVmpl;
}

/** The field's body for `maxVmpl`. */
export function vmplBody(maxVmpl: number): Uint8Array {
  return Uint8Array.of(checkVmpl(maxVmpl));
}

/** The field's body, strictly: one byte, a VMPL. */
export function decodeVmpl(body: Uint8Array): number {
  if (body.length !== BODY_BYTES) throw new PolicyError(`max-vmpl is ${BODY_BYTES} byte`);
  return checkVmpl(body[0]!);
}
