// What an AMD endorsement key certificate (VCEK or VLEK) says beyond its key, from the extensions
// AMD's Key Distribution Service writes (AMD 57230, "VCEK Certificate Extensions"; the VLEK's are
// the same with a CSP id instead of a hardware id):
//
//   1.3.6.1.4.1.3704.1.1      structVersion  INTEGER
//   1.3.6.1.4.1.3704.1.2      productName    IA5String, "Milan-B0", "Genoa", "Turin", ...
//   1.3.6.1.4.1.3704.1.3.1    blSPL          INTEGER (0..255)   boot loader
//   1.3.6.1.4.1.3704.1.3.2    teeSPL         INTEGER            PSP OS
//   1.3.6.1.4.1.3704.1.3.3    snpSPL         INTEGER            SNP firmware
//   1.3.6.1.4.1.3704.1.3.4-7  spl_4..spl_7   INTEGER, reserved (0) when present
//   1.3.6.1.4.1.3704.1.3.8    ucodeSPL       INTEGER            microcode
//   1.3.6.1.4.1.3704.1.3.9    fmcSPL         INTEGER            Turin and later only
//   1.3.6.1.4.1.3704.1.4      hwID           the chip id: 64 bytes (Milan, Genoa), 8 (Turin); AMD
//                                            writes the bytes bare, not as an OCTET STRING; a
//                                            wrapped value is read too (as google/go-sev-guest does)
//   1.3.6.1.4.1.3704.1.5      cspID          IA5String, VLEK only: the cloud provider's name
// The subject's common name says which key it is: "SEV-VCEK" or "SEV-VLEK".
import { latin1 } from "../dcap/bytes.js";
import { children, DerError, expectTag, readOid, readSingle, readSmallInteger, Tag } from "../dcap/der.js";
import type { Certificate } from "../dcap/pki.js";
import { VerificationError } from "../verdict.js";
import type { AmdProduct, Tcb, TcbComponent } from "./tcb.js";

const AMD_ARC = "1.3.6.1.4.1.3704.1";
const OID_PRODUCT_NAME = `${AMD_ARC}.2`;
const OID_HWID = `${AMD_ARC}.4`;
const OID_CSP_ID = `${AMD_ARC}.5`;
const OID_TCB: Record<TcbComponent, string> = {
  bootloader: `${AMD_ARC}.3.1`,
  tee: `${AMD_ARC}.3.2`,
  snp: `${AMD_ARC}.3.3`,
  microcode: `${AMD_ARC}.3.8`,
  fmc: `${AMD_ARC}.3.9`,
};
const OID_RESERVED_SPLS = [4, 5, 6, 7].map((n) => `${AMD_ARC}.3.${n}`);
const OID_COMMON_NAME = "2.5.4.3";
const IA5_STRING = 0x16;
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const U8_MAX = 0xff;
/** How long a chip id is on each product; Turin's VCEK names the first 8 bytes of CHIP_ID. */
export const HWID_BYTES: Record<AmdProduct, number> = { Milan: 64, Genoa: 64, Turin: 8 };
/** Products whose TCB_VERSION carries an FMC patch level. */
const HAS_FMC: Record<AmdProduct, boolean> = { Milan: false, Genoa: false, Turin: true };

export const EndorsementKind = { "SEV-VCEK": "vcek", "SEV-VLEK": "vlek" } as const;
export type EndorsementKindName = (typeof EndorsementKind)[keyof typeof EndorsementKind];

export type Endorsement = {
  kind: EndorsementKindName;
  productName: string;
  tcb: Tcb;
  /** VCEK only. */
  hwid: Uint8Array | undefined;
  /** VLEK only. */
  cspId: string | undefined;
};

/** The common name of an X.509 Name (its one CN attribute), or undefined. */
export function commonNameOf(name: Uint8Array): string | undefined {
  const names: string[] = [];
  for (const rdn of children(readSingle(name, Tag.sequence))) {
    for (const attribute of children(expectTag(rdn, Tag.set))) {
      const [type, value] = children(expectTag(attribute, Tag.sequence));
      if (readOid(expectTag(type, Tag.oid)) !== OID_COMMON_NAME) continue;
      if (value === undefined || ![UTF8_STRING, PRINTABLE_STRING, IA5_STRING].includes(value.tag)) {
        throw new DerError("common name is not a string");
      }
      names.push(new TextDecoder("utf-8", { fatal: true }).decode(value.value));
    }
  }
  return names.length === 1 ? names[0] : undefined;
}

function ia5(value: Uint8Array): string {
  return latin1(readSingle(value, IA5_STRING).value);
}

function u8(value: Uint8Array, what: string): number {
  const n = readSmallInteger(readSingle(value, Tag.integer));
  if (n > U8_MAX) throw new DerError(`${what} ${n} is not a byte`);
  return n;
}

/** The chip id, bare or wrapped in an OCTET STRING, of exactly `size` bytes. */
function hwid(value: Uint8Array, size: number): Uint8Array {
  if (value.length === size) return value;
  const wrapped = readSingle(value, Tag.octetString).value;
  if (wrapped.length !== size) throw new DerError(`hwID is ${wrapped.length} bytes, not ${size}`);
  return wrapped;
}

/**
 * Reads the endorsement key's extensions for `product` (the product whose root its chain reaches).
 * Throws VerificationError naming what is missing or malformed.
 */
export function readEndorsement(cert: Certificate, product: AmdProduct, label: string): Endorsement {
  const cn = commonNameOf(cert.subject);
  const kind =
    cn !== undefined && Object.hasOwn(EndorsementKind, cn)
      ? EndorsementKind[cn as keyof typeof EndorsementKind]
      : undefined;
  if (kind === undefined)
    throw new VerificationError(`${label}: subject ${cn ?? "(no CN)"} is neither SEV-VCEK nor SEV-VLEK`);
  const ext = (oid: string, what: string): Uint8Array => {
    const value = cert.extensions.get(oid);
    if (value === undefined) throw new VerificationError(`${label}: no ${what} extension (${oid})`);
    return value;
  };
  try {
    const tcb: Tcb = {
      bootloader: u8(ext(OID_TCB.bootloader, "blSPL"), "blSPL"),
      tee: u8(ext(OID_TCB.tee, "teeSPL"), "teeSPL"),
      snp: u8(ext(OID_TCB.snp, "snpSPL"), "snpSPL"),
      microcode: u8(ext(OID_TCB.microcode, "ucodeSPL"), "ucodeSPL"),
    };
    if (HAS_FMC[product]) tcb.fmc = u8(ext(OID_TCB.fmc, "fmcSPL"), "fmcSPL");
    else if (cert.extensions.has(OID_TCB.fmc)) throw new DerError(`fmcSPL on a ${product} certificate`);
    for (const oid of OID_RESERVED_SPLS) {
      const value = cert.extensions.get(oid);
      if (value !== undefined && u8(value, oid) !== 0) throw new DerError(`reserved SPL ${oid} is not 0`);
    }
    const hwidValue = cert.extensions.get(OID_HWID);
    const cspValue = cert.extensions.get(OID_CSP_ID);
    if (kind === "vcek" && (hwidValue === undefined || cspValue !== undefined)) {
      throw new DerError("a VCEK names its chip (hwID) and no cloud provider");
    }
    if (kind === "vlek" && (cspValue === undefined || hwidValue !== undefined)) {
      throw new DerError("a VLEK names its cloud provider (cspID) and no chip");
    }
    return {
      kind,
      productName: ia5(ext(OID_PRODUCT_NAME, "productName")),
      tcb,
      hwid: hwidValue === undefined ? undefined : hwid(hwidValue, HWID_BYTES[product]),
      cspId: cspValue === undefined ? undefined : ia5(cspValue),
    };
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    const detail = error instanceof DerError ? `: ${error.message}` : "";
    throw new VerificationError(`${label}: malformed ${kind.toUpperCase()} extensions${detail}`, {
      cause: error,
    });
  }
}
