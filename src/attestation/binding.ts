// How a verdict meets the contract: the 32-byte binding in its report data, and the 32-byte word a
// measurement is recorded as. Light on purpose (no verifier): the client imports it in the browser.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { type Verdict, VerificationError } from "./verdict.js";

const BINDING_BYTES = 32;

/** The contract sees a 32-byte report data: the binding; the rest of the evidence's report data must be zero. */
export function bindingOf(verdict: Verdict): Hex {
  const data = hexToBytes(`0x${verdict.reportData}`);
  if (data.length < BINDING_BYTES) throw new VerificationError("report data is shorter than 32 bytes");
  if (data.subarray(BINDING_BYTES).some((b) => b !== 0)) {
    throw new VerificationError("report data carries bytes after the 32-byte binding");
  }
  return bytesToHex(data.subarray(0, BINDING_BYTES));
}

/**
 * The contract keeps 32-byte measurements. SGX's and the combined TDX measurement are 32 bytes;
 * Nitro's PCR0 is 48 (SHA-384), so it enters the contract as its SHA-256, which the allow-list names.
 */
export function measurementWord(hex: string): Hex {
  const bytes = hexToBytes(`0x${hex}`);
  return bytes.length === 32 ? bytesToHex(bytes) : bytesToHex(sha256(bytes));
}
