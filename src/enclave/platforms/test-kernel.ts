// For tests only (nothing in the enclave bundle imports it): directories that play the kernel for the
// hardware adapters, and the real evidence they answer with.
//
// EmulatedTsm is configfs-tsm as the adapter sees it through its file port: a real directory tree
// (`<root>/sys/kernel/config/tsm/report`), where making an entry directory gives it the kernel's
// attributes (`provider`, `generation` at 0, `inblob`, `outblob`), a write to `inblob` advances
// `generation`, reading `outblob` has the "driver" answer for the inblob written, and removing the
// entry removes its attributes. It can play a concurrent writer too. The answers are real evidence
// (the shared TDX quote, a SEV-SNP report of test/fixtures) with the report data asked for put in
// place, so their signatures no longer verify: what is tested is the exchange, not the hardware.
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex, type Hex } from "viem";
import { APPS } from "../../../apps/index.js";
import { parseQuote } from "../../attestation/dcap/quote.js";
import { offsetIn, readVectorBytes } from "../../attestation/dcap/test-vectors.js";
import { Offset as SevOffset } from "../../attestation/sev-snp/report.js";
import { DEV_POLICY_KEYS } from "../../protocol/dev-policy-keys.js";
import type { EnclaveConfig } from "../context.js";
import { createEnclave, type Enclave } from "../enclave.js";
import { type EnclavePlatformName, REPORT_DATA_BYTES, type TeePlatform } from "../platform.js";
import { TSM_INBLOB_BYTES, TSM_REPORT_DIR } from "./configfs-tsm.js";
import { NODE_FILES, type PlatformFiles } from "./platform-files.js";

/** A SEV-SNP report from real hardware (Milan, version 3), kept by the SEV-SNP verifier's tests. */
const SEV_SNP_SAMPLE = fileURLToPath(
  new URL("../../../test/fixtures/sev-snp/milan-v3-vcek.bin", import.meta.url),
);

export type TsmKernelOptions = {
  /** The directory that plays `/`. */
  root: string;
  /** What `provider` says. */
  provider: string;
  /** The driver: the `outblob` for an `inblob`. */
  answer: (inblob: Uint8Array) => Uint8Array;
  /** How many entries, from the first, another writer writes into after the adapter's write. */
  interfere?: number;
  /** What `auxblob` holds (SEV-SNP's certificate table); no such attribute when omitted. */
  auxblob?: Uint8Array;
};

export class EmulatedTsm implements PlatformFiles {
  readonly reportDir: string;
  /** Every entry made, in order; and each inblob the driver answered. */
  readonly entries: string[] = [];
  readonly answered: Uint8Array[] = [];
  constructor(readonly options: TsmKernelOptions) {
    this.reportDir = join(options.root, TSM_REPORT_DIR);
  }

  /** The tree with an empty report directory, as a kernel with configfs-tsm mounted has it. */
  static async boot(options: TsmKernelOptions): Promise<EmulatedTsm> {
    const kernel = new EmulatedTsm(options);
    await mkdir(kernel.reportDir, { recursive: true });
    return kernel;
  }

  async mkdir(path: string): Promise<void> {
    await NODE_FILES.mkdir(path);
    if (dirname(path) !== this.reportDir) return;
    this.entries.push(path);
    await writeFile(join(path, "provider"), `${this.options.provider}\n`);
    await writeFile(join(path, "generation"), "0\n");
    await writeFile(join(path, "inblob"), new Uint8Array(0));
    await writeFile(join(path, "outblob"), new Uint8Array(0));
    if (this.options.auxblob) await writeFile(join(path, "auxblob"), this.options.auxblob);
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    if (basename(path) !== "inblob") return NODE_FILES.write(path, bytes);
    // The kernel's inblob attribute holds TSM_INBLOB_MAX bytes: a longer write fails (EFBIG).
    if (bytes.length > TSM_INBLOB_BYTES) throw Object.assign(new Error("EFBIG"), { code: "EFBIG" });
    await this.#store(path, bytes);
    const entry = dirname(path);
    if (this.entries.indexOf(entry) < (this.options.interfere ?? 0))
      await this.#store(path, new Uint8Array(TSM_INBLOB_BYTES).fill(0xee)); // another writer's request
  }

  async read(path: string, max: number): Promise<Uint8Array> {
    if (basename(path) === "outblob") {
      const inblob = new Uint8Array(await readFile(join(dirname(path), "inblob")));
      this.answered.push(inblob);
      await writeFile(path, this.options.answer(inblob));
    }
    return NODE_FILES.read(path, max);
  }

  async rmdir(path: string): Promise<void> {
    // A configfs entry goes with its attributes; a plain directory needs them removed first.
    await rm(path, { recursive: true });
  }

  async #store(path: string, bytes: Uint8Array): Promise<void> {
    await writeFile(path, bytes);
    const generation = join(dirname(path), "generation");
    const count = Number.parseInt(await readFile(generation, "utf8"), 10);
    await writeFile(generation, `${count + 1}\n`);
  }
}

/** `evidence` with `reportData` put where `at` says its report data sits. */
function withReportData(evidence: Uint8Array, at: number, reportData: Uint8Array): Uint8Array {
  const copy = evidence.slice();
  copy.set(reportData.subarray(0, REPORT_DATA_BYTES), at);
  return copy;
}

/** The shared real TDX quote v4, answering for `inblob`. */
export function tdxQuoteFor(inblob: Uint8Array): Uint8Array {
  const quote = readVectorBytes("sgx-dcap/tdx_quote");
  return withReportData(quote, offsetIn(quote, parseQuote(quote).body.reportData), inblob);
}

/** The shared real SGX quote v3, made for `reportData`. */
export function sgxQuoteFor(reportData: Uint8Array): Uint8Array {
  const quote = readVectorBytes("sgx-dcap/sgx_quote");
  return withReportData(quote, offsetIn(quote, parseQuote(quote).body.reportData), reportData);
}

/** A real SEV-SNP report (1184 bytes), answering for `inblob`. */
export function sevSnpReportFor(inblob: Uint8Array): Uint8Array {
  return withReportData(new Uint8Array(readFileSync(SEV_SNP_SAMPLE)), SevOffset.reportData, inblob);
}

/** The development build's configuration on `platform` (the app's hash is not its built one: in process). */
export const configOn = (platform: EnclavePlatformName): EnclaveConfig => ({
  app: "erc20",
  appCodeHash: `0x${"ac".repeat(32)}` as Hex,
  platform,
  profile: "development",
  policyKeys: DEV_POLICY_KEYS,
  signerMeasurement: bytesToHex(new Uint8Array(32).fill(9)),
  version: "test",
});

/** An ERC-20 enclave in process on a hardware adapter, with the identity its own evidence names. */
export async function enclaveOnHardware(platform: TeePlatform, name: EnclavePlatformName): Promise<Enclave> {
  if (!platform.ownIdentity) throw new Error("not a hardware platform");
  return createEnclave({
    platform,
    measured: await platform.ownIdentity(),
    config: configOn(name),
    app: APPS.erc20,
  });
}
