// The emulated SEV-SNP network of test/operators/emulated-sev-snp*.test.ts (emulated-network.ts):
// the guest's launch digest is that of a VM image whose initrd holds the test build, and its quote
// service signs reports with the test PKI's VCEK for whatever guest `guest.current` is when an
// enclave asks (a test changes it to have the next enclave report from another VMPL).
import { sha384 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "viem";
import { measurementWord } from "../../src/attestation/binding.js";
import type { SevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import type { SnpGuest } from "../../src/attestation/sev-snp/test-report.js";
import { sevSnpAnswer } from "../../src/enclave/platforms/test-qgs.js";
import { type EmulatedNetwork, type EmulatedSetup, startEmulatedNetwork } from "./emulated-network.js";

export type SevSnpGuestRef = { current: SnpGuest };

export async function startEmulatedSevSnp(
  pki: SevSnpTestPki,
  setup: Omit<EmulatedSetup, "platform" | "roots" | "guest"> = {},
): Promise<{ n: EmulatedNetwork; guest: SevSnpGuestRef }> {
  const guest: SevSnpGuestRef = { current: { measurement: new Uint8Array(48) } };
  const n = await startEmulatedNetwork({
    ...setup,
    platform: "sev-snp",
    roots: { amd: pki.arkPem },
    guest: async (bundle) => {
      guest.current = { measurement: sha384(hexToBytes(bundle.measurement)), version: 5 };
      return {
        measurement: measurementWord(bytesToHex(guest.current.measurement).slice(2)),
        answer: sevSnpAnswer(pki, () => guest.current),
      };
    },
  });
  return { n, guest };
}
