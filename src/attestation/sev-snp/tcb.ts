// The AMD EPYC products whose SEV-SNP evidence Anonify judges, how a report names its product, and
// how a TCB_VERSION (8 bytes, little-endian u64) reads on each (AMD 56860, "TCB_VERSION"; the same
// layouts as virtee/sev `TcbVersion` and confidential-containers/trustee's SNP verifier):
//
//   Milan, Genoa: byte 0 BOOT_LOADER | 1 TEE | 2..5 reserved (0) | 6 SNP | 7 MICROCODE
//   Turin:        byte 0 FMC | 1 BOOT_LOADER | 2 TEE | 3 SNP | 4..6 reserved (0) | 7 MICROCODE
//
// A v3+ report names its processor by CPUID family and model (virtee/sev `Generation::identify_cpu`):
// family 0x19 models 0x00..0x0F Milan, 0x10..0x1F and 0xA0..0xAF Genoa; family 0x1A models
// 0x00..0x11 Turin. A v2 report names none: its product is the one whose root its chain reaches.
import { VerificationError } from "../verdict.js";
import type { Cpuid, TcbBytes } from "./report.js";

export const AMD_PRODUCTS = ["Milan", "Genoa", "Turin"] as const;
export type AmdProduct = (typeof AMD_PRODUCTS)[number];

/** The security patch levels a TCB_VERSION carries; `fmc` only on Turin. */
export type Tcb = { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
export type TcbComponent = keyof Tcb;

const ZEN3_ZEN4_FAMILY = 0x19;
const ZEN5_FAMILY = 0x1a;
/** [family, first model, last model] of each product, both ends inclusive. */
const PRODUCT_MODELS: readonly (readonly [AmdProduct, number, number, number])[] = [
  ["Milan", ZEN3_ZEN4_FAMILY, 0x00, 0x0f],
  ["Genoa", ZEN3_ZEN4_FAMILY, 0x10, 0x1f],
  ["Genoa", ZEN3_ZEN4_FAMILY, 0xa0, 0xaf],
  ["Turin", ZEN5_FAMILY, 0x00, 0x11],
];

/** The byte of each component in a TCB_VERSION, and the reserved bytes, by layout. */
const LAYOUTS = {
  zen3zen4: { fields: { bootloader: 0, tee: 1, snp: 6, microcode: 7 }, reserved: [2, 3, 4, 5] },
  zen5: { fields: { fmc: 0, bootloader: 1, tee: 2, snp: 3, microcode: 7 }, reserved: [4, 5, 6] },
} as const satisfies Record<string, { fields: Partial<Record<TcbComponent, number>>; reserved: number[] }>;
const LAYOUT_OF: Record<AmdProduct, keyof typeof LAYOUTS> = {
  Milan: "zen3zen4",
  Genoa: "zen3zen4",
  Turin: "zen5",
};

/** The product a v3+ report's CPUID names, or undefined for a processor this verifier does not know. */
export function productOfCpuid(cpuid: Cpuid): AmdProduct | undefined {
  return PRODUCT_MODELS.find(
    ([, family, first, last]) => cpuid.family === family && cpuid.model >= first && cpuid.model <= last,
  )?.[0];
}

/** The components of a TCB_VERSION on `product`; `what` names the field in the error. */
export function readTcb(bytes: TcbBytes, product: AmdProduct, what: string): Tcb {
  const layout = LAYOUTS[LAYOUT_OF[product]];
  for (const index of layout.reserved) {
    if (bytes[index] !== 0) {
      throw new VerificationError(`sev-snp: ${what} has reserved byte ${index} set (${product} layout)`);
    }
  }
  const tcb: Tcb = { bootloader: 0, tee: 0, snp: 0, microcode: 0 };
  for (const [name, index] of Object.entries(layout.fields) as [TcbComponent, number][]) {
    tcb[name] = bytes[index]!;
  }
  return tcb;
}
