// Test-only: the real SEV-SNP reports and certificates from public projects committed under
// test/fixtures/sev-snp (its README names each one's repository, path and commit), and how each
// source judges its sample.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sevSnpEvidence } from "../sev-snp.js";
import { type CertEntry, CertGuid, encodeCertTable } from "./cert-table.js";
import type { AmdProduct, Tcb } from "./tcb.js";

export const FIXTURES_DIR = fileURLToPath(new URL("../../../test/fixtures/sev-snp/", import.meta.url));

export const fixtureBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(FIXTURES_DIR + name));
export const fixtureText = (name: string): string => readFileSync(FIXTURES_DIR + name, "utf8");

/** A DER certificate as one PEM block (RFC 7468: base64 in lines of 64). */
export function derToPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** The DER of each PEM block in `pem`, in order. */
export function pemToDers(pem: string): Uint8Array[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map(
    (m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s/g, ""), "base64")),
  );
}

export type Sample = {
  name: string;
  report: string;
  /** The VCEK or VLEK, then the ASK or ASVK, then the ARK, as PEM. */
  chain: () => string;
  product: AmdProduct;
  key: "vcek" | "vlek";
  version: number;
  /** Inside every certificate's validity window. */
  now: Date;
  /** Its source's expectations, read independently (Python over the raw bytes). */
  measurement: string;
  reportDataPrefix: string;
  debug: boolean;
  tcb: Tcb;
};

const IN_2026 = new Date("2026-01-01T00:00:00Z");

export const SAMPLES: readonly Sample[] = [
  {
    name: "Milan, VCEK, report v3 (routex-client-lua)",
    report: "milan-v3-vcek.bin",
    chain: () => fixtureText("milan-v3-vcek-chain.pem"),
    product: "Milan",
    key: "vcek",
    version: 3,
    now: IN_2026,
    measurement:
      "195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3",
    reportDataPrefix: "a7ca989b0359ea4e5efc47bdbcad84b2df3f26fd09ee7bda5bb27953abf68992",
    debug: false,
    tcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 },
  },
  {
    name: "Genoa, VCEK, report v3 (routex-client-lua)",
    report: "genoa-v3-vcek.bin",
    chain: () => fixtureText("genoa-v3-vcek-chain.pem"),
    product: "Genoa",
    key: "vcek",
    version: 3,
    now: IN_2026,
    measurement:
      "b0f5d097b5c7addd4ee06a6f5fd04a745c5415d77363ca74857b44226a1bd7da50329549def0897c234695e37b8c2793",
    reportDataPrefix: "ed6f6333fec8605e5ec0193fa16318d0538c1a2be3c653e220d6565885ce23a4",
    debug: false,
    tcb: { bootloader: 9, tee: 0, snp: 23, microcode: 72 },
  },
  {
    name: "Genoa, VCEK, report v5 (routex-client-lua)",
    report: "genoa-v5-vcek.bin",
    chain: () => fixtureText("genoa-v5-vcek-chain.pem"),
    product: "Genoa",
    key: "vcek",
    version: 5,
    now: IN_2026,
    measurement:
      "bece7399a4da054a63a2e3fa1a47ff98c88e391d4379126fc4e75c677f25b6cd6bfd8ef609a8638049633ac7e00e4ac1",
    reportDataPrefix: "bb851e203747c3685d79a29910e76c53957896dbf6e68835b64ea2c2b2be7db6",
    debug: false,
    tcb: { bootloader: 10, tee: 0, snp: 27, microcode: 88 },
  },
  {
    name: "Turin, VCEK, report v5 (routex-client-lua)",
    report: "turin-v5-vcek.bin",
    chain: () => fixtureText("turin-v5-vcek-chain.pem"),
    product: "Turin",
    key: "vcek",
    version: 5,
    now: IN_2026,
    measurement:
      "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624",
    reportDataPrefix: "e0fd0bdb6aa4030a6ddea9073e1fcec5be6c782a2c8075a0825dfb3d9a81b924",
    debug: false,
    tcb: { bootloader: 1, tee: 0, snp: 2, microcode: 71, fmc: 0 },
  },
  {
    name: "Milan, VCEK, report v2, debug policy (go-sev-guest)",
    report: "milan-v2-vcek-debug.bin",
    chain: () => derToPem(fixtureBytes("milan-v2-vcek.der")) + fixtureText("milan-ask-ark.pem"),
    product: "Milan",
    key: "vcek",
    version: 2,
    now: new Date("2024-01-01T00:00:00Z"),
    measurement:
      "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
    reportDataPrefix: "0102030405000000000000000000000000000000000000000000000000000000",
    debug: true,
    tcb: { bootloader: 2, tee: 0, snp: 5, microcode: 68 },
  },
  {
    name: "Milan, VLEK (AWS), report v3 (trustee)",
    report: "milan-v3-vlek.bin",
    chain: () => derToPem(fixtureBytes("milan-vlek.der")) + fixtureText("milan-asvk-ark.pem"),
    product: "Milan",
    key: "vlek",
    version: 3,
    now: new Date("2025-06-01T00:00:00Z"),
    measurement:
      "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
    reportDataPrefix: "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd5",
    debug: false,
    tcb: { bootloader: 4, tee: 0, snp: 24, microcode: 217 },
  },
];

export const sampleNamed = (report: string): Sample => {
  const sample = SAMPLES.find((s) => s.report === report);
  if (!sample) throw new Error(`no SEV-SNP sample ${report}`);
  return sample;
};

/** The certificate table (an `auxblob`) of `pem`: the endorsement key, its signer, the ARK if given. */
export function certTableOf(pem: string, key: "vcek" | "vlek"): Uint8Array {
  const [endorsement, signer, root] = pemToDers(pem);
  const entries: CertEntry[] = [
    { guid: CertGuid[key], bytes: endorsement! },
    { guid: CertGuid.ask, bytes: signer! },
  ];
  if (root) entries.push({ guid: CertGuid.ark, bytes: root });
  return encodeCertTable(entries);
}

/** The sample as an enclave registers it: the report followed by its certificate table. */
export const evidenceWithCertificates = (sample: Sample): Uint8Array =>
  sevSnpEvidence(fixtureBytes(sample.report), certTableOf(sample.chain(), sample.key));
