// Test-only: SEV-SNP attestation reports in the real layout (report.ts: 1184 bytes, version 3 or 5),
// signed by a test PKI's VCEK (test-pki.ts) as the secure processor signs them: ECDSA P-384 with
// SHA-384 over bytes 0x000..0x29F, R and S little-endian in 72-byte fields; and the certificate table
// the kernel gives beside one in `auxblob` (cert-table.ts): VCEK, ASK, ARK. The report is for the
// PKI's chip (CHIP_ID = its VCEK's hwID), product (Genoa's CPUID) and TCB (every TCB field its
// VCEK's), with the guest's measurement, report data and policy as the test chooses.
import { webcrypto } from "node:crypto";
import { CertGuid, encodeCertTable } from "./cert-table.js";
import type { TcbBytes } from "./report.js";
import { encodeSevSnpReport, Offset, PolicyBit, type SevSnpReport } from "./report.js";
import type { Tcb } from "./tcb.js";
import type { SevSnpTestPki } from "./test-pki.js";

const SIGNING = { name: "ECDSA", hash: "SHA-384" } as const;
const SIGNATURE_BYTES = 96;
/** ABI 1.55 (bits 15:0), SMT allowed (16), the reserved bit that must be set (17). */
const BASE_POLICY = (1n << 16n) | (1n << PolicyBit.mustBeOne) | (1n << 8n) | 55n;
/** A Genoa (family 0x19, model 0x11, stepping 1): what productOfCpuid reads as Genoa. */
const GENOA_CPUID = { family: 0x19, model: 0x11, stepping: 0x01 };
/** Milan's and Genoa's TCB_VERSION: byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode (tcb.ts). */
const TCB_BYTE = { bootloader: 0, tee: 1, snp: 6, microcode: 7 } as const;
const TCB_BYTES = 8;
const FIRMWARE = { major: 1, minor: 55, build: 21 };

export type SnpGuest = {
  /** MEASUREMENT: the launch digest, 48 bytes. */
  measurement: Uint8Array;
  /** The guest policy's DEBUG bit. */
  debug?: boolean;
  /** 3 (default) or 5. */
  version?: 3 | 5;
  /** The VM privilege level that asked for the report (default 0, the guest kernel). */
  vmpl?: number;
};

function tcbBytes(tcb: Tcb): TcbBytes {
  const bytes = new Uint8Array(TCB_BYTES);
  for (const [name, at] of Object.entries(TCB_BYTE) as [keyof typeof TCB_BYTE, number][])
    bytes[at] = tcb[name];
  return bytes;
}

/** A report for `reportData` (64 bytes) from `guest`, signed by the PKI's VCEK. */
export async function makeSevSnpReport(
  pki: SevSnpTestPki,
  reportData: Uint8Array,
  guest: SnpGuest,
): Promise<Uint8Array> {
  const version = guest.version ?? 3;
  const tcb = tcbBytes(pki.tcb);
  const fields: Omit<SevSnpReport, "signed"> = {
    version,
    guestSvn: 0,
    policy: guest.debug ? BASE_POLICY | (1n << PolicyBit.debug) : BASE_POLICY,
    familyId: new Uint8Array(16),
    imageId: new Uint8Array(16),
    vmpl: guest.vmpl ?? 0,
    currentTcb: tcb,
    platformInfo: 1n, // SMT enabled
    authorKeyEnabled: false,
    maskChipKey: false,
    signingKey: "vcek",
    reportData,
    measurement: guest.measurement,
    hostData: new Uint8Array(32),
    idKeyDigest: new Uint8Array(48),
    authorKeyDigest: new Uint8Array(48),
    reportId: webcrypto.getRandomValues(new Uint8Array(32)),
    reportIdMa: new Uint8Array(32).fill(0xff),
    reportedTcb: tcb,
    cpuid: GENOA_CPUID,
    chipId: pki.chipId,
    committedTcb: tcb,
    currentVersion: FIRMWARE,
    committedVersion: FIRMWARE,
    launchTcb: tcb,
    mitigations: version === 5 ? { launch: 0n, current: 0n } : undefined,
    signature: new Uint8Array(SIGNATURE_BYTES),
  };
  const unsigned = encodeSevSnpReport(fields);
  const signature = new Uint8Array(
    await webcrypto.subtle.sign(SIGNING, pki.vcekKey, unsigned.subarray(0, Offset.signature)),
  );
  return encodeSevSnpReport({ ...fields, signature });
}

/** The certificate table the kernel gives beside the report (`auxblob`): VCEK, ASK, ARK. */
export const sevSnpCertTable = (pki: SevSnpTestPki): Uint8Array =>
  encodeCertTable([
    { guid: CertGuid.vcek, bytes: pki.vcek },
    { guid: CertGuid.ask, bytes: pki.ask },
    { guid: CertGuid.ark, bytes: pki.ark },
  ]);
