// The TDX measurement: one 32-byte value that names the whole TD software stack, so that the
// contract's allow-list admits a TD only if its firmware, boot chain, application and configuration
// are all the expected ones. MRTD alone names only the initial TD image (the virtual firmware): with
// it, the allow-listed firmware booting any kernel and application would pass.
//
//   measurement = SHA-256( "anonify/tdx-measurement/v1"             (26 ASCII bytes, no terminator)
//                          || MRTD || RTMR0 || RTMR1 || RTMR2 || RTMR3
//                          || MRCONFIGID || MROWNER || MROWNERCONFIG )  (8 x 48 bytes, as in the report)
//
// Every component has a fixed size, so the concatenation is unambiguous; the tag keeps the value
// from colliding with any other hash of the same bytes and versions the definition. What each
// register holds: MRTD the TD's initial memory (TDVF); RTMR0 the firmware configuration (CFV, ACPI);
// RTMR1 the OS loader and kernel; RTMR2 the kernel command line and initrd; RTMR3 what the running TD
// extends (the application); MRCONFIGID, MROWNER and MROWNERCONFIG the values the host set at TD
// creation (zero unless the deployment uses them). TD report 1.5's MRSERVICETD is not a component:
// the verifier requires it to be zero.
import { sha256 } from "@noble/hashes/sha2.js";
import { VerificationError } from "../verdict.js";
import { TdReport10 } from "./layout.js";
import type { TdReportBody } from "./quote.js";

export const TDX_MEASUREMENT_TAG = "anonify/tdx-measurement/v1";
/** The tag is ASCII, so its UTF-8 bytes are its ASCII bytes. */
const TAG_BYTES = new TextEncoder().encode(TDX_MEASUREMENT_TAG);

/** The components, in the order they are hashed (also the verdict's `measurements` key names). */
export const TDX_MEASUREMENT_COMPONENTS = [
  "mrtd",
  "rtmr0",
  "rtmr1",
  "rtmr2",
  "rtmr3",
  "mrconfigid",
  "mrowner",
  "mrownerconfig",
] as const;
export type TdxMeasurementComponent = (typeof TDX_MEASUREMENT_COMPONENTS)[number];

/** The components of a parsed TD report body, by name. */
export function tdxMeasurementComponents(body: TdReportBody): Record<TdxMeasurementComponent, Uint8Array> {
  return {
    mrtd: body.mrTd,
    rtmr0: body.rtmr[0],
    rtmr1: body.rtmr[1],
    rtmr2: body.rtmr[2],
    rtmr3: body.rtmr[3],
    mrconfigid: body.mrConfigId,
    mrowner: body.mrOwner,
    mrownerconfig: body.mrOwnerConfig,
  };
}

/**
 * The measurement from its components (each 48 bytes): what an operator computes from the expected
 * register values to allow-list a TD before any quote exists.
 */
export function combineTdxMeasurement(components: Record<TdxMeasurementComponent, Uint8Array>): Uint8Array {
  const hash = sha256.create().update(TAG_BYTES);
  for (const name of TDX_MEASUREMENT_COMPONENTS) {
    const register = components[name];
    if (register.length !== TdReport10.registerSize) {
      throw new VerificationError(`TDX measurement: ${name} is not ${TdReport10.registerSize} bytes`);
    }
    hash.update(register);
  }
  return hash.digest();
}

/** The 32-byte measurement of a TD report body (1.0 or 1.5). */
export function tdxMeasurement(body: TdReportBody): Uint8Array {
  return combineTdxMeasurement(tdxMeasurementComponents(body));
}
