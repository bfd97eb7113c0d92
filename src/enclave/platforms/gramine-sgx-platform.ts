// The SGX adapter under Gramine (gramine-sgx, DCAP): Gramine's pseudo-filesystem /dev/attestation,
// which exists only inside the enclave (Gramine's documentation, "Attestation and Secret
// Provisioning"). A quote: write the 64 bytes to `user_report_data`, read `quote` (an SGX DCAP quote
// v3 whose report data they are). Sealing keys: `keys/_sgx_mrenclave` and `keys/_sgx_mrsigner`, the
// 16-byte EGETKEY sealing keys of this MRENCLAVE or MRSIGNER on this CPU (Gramine 1.5 and later),
// never used as they are: Gramine's encrypted-files mounts may use the same keys, so ours are
// derived from them through HKDF under a label of our own (policy-key.ts). The enclave's own
// identity is the MRENCLAVE and MRSIGNER its own quote names, as the verifier reads them.
import { join } from "node:path";
import { sameBytes } from "../../attestation/dcap/bytes.js";
import { parseQuote } from "../../attestation/dcap/quote.js";
import {
  type EnclaveIdentity,
  REPORT_DATA_BYTES,
  type SealingScope,
  type SealPolicy,
  type TeePlatform,
} from "../platform.js";
import { errnoOf, NODE_FILES, PlatformError, type PlatformFiles } from "./platform-files.js";
import { policyKey } from "./policy-key.js";

/** Where Gramine serves its attestation pseudo-files. */
export const GRAMINE_ATTESTATION_DIR = "/dev/attestation";
/** The files read or written under it. */
export const GRAMINE_FILES = {
  attestationType: "attestation_type",
  userReportData: "user_report_data",
  quote: "quote",
} as const;
/** The sealing key file for each policy, under `keys/`. */
export const GRAMINE_SEAL_KEY_FILES = {
  measurement: "_sgx_mrenclave",
  signer: "_sgx_mrsigner",
} as const satisfies Record<SealPolicy, string>;
/** An SGX sealing key (sgx_key_128bit_t). */
export const SGX_SEAL_KEY_BYTES = 16;
/** Gramine's own bound on a quote (SGX_QUOTE_MAX_SIZE); a DCAP quote is about 4.5 KiB. */
export const SGX_QUOTE_MAX_BYTES = 8192;
/** The attestation type the build needs: ECDSA quotes, which the DCAP verifier judges. */
const DCAP = "dcap";
const ATTESTATION_TYPE_MAX_BYTES = 16;
const GRAMINE_SEAL_LABEL = new TextEncoder().encode("anonify.gramine-sgx.seal.v1");
const NEEDS = 'run the enclave under gramine-sgx with sgx.remote_attestation = "dcap" (Gramine 1.5 or later)';

export type GramineSgxOptions = {
  /** Default the real one; tests point it at a directory that plays Gramine's. */
  attestationDir?: string;
  files?: PlatformFiles;
};

export class GramineSgxPlatform implements TeePlatform {
  readonly name = "sgx";
  readonly sealing: SealingScope = "persistent";
  readonly attestationDir: string;
  readonly #files: PlatformFiles;
  #dcapChecked = false;
  #own: Promise<EnclaveIdentity> | undefined;

  constructor(options: GramineSgxOptions = {}) {
    this.attestationDir = options.attestationDir ?? GRAMINE_ATTESTATION_DIR;
    this.#files = options.files ?? NODE_FILES;
  }

  async sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Promise<Uint8Array> {
    const name = GRAMINE_SEAL_KEY_FILES[policy];
    if (name === undefined) throw new TypeError(`unknown seal policy ${String(policy)}`);
    const path = join(this.attestationDir, "keys", name);
    const key = await this.#read(path, SGX_SEAL_KEY_BYTES);
    try {
      if (key.length !== SGX_SEAL_KEY_BYTES)
        throw new PlatformError(
          "bad_evidence",
          `${path} holds ${key.length} bytes, not an SGX sealing key (${SGX_SEAL_KEY_BYTES})`,
        );
      return policyKey(key, GRAMINE_SEAL_LABEL, policy, identity);
    } finally {
      key.fill(0);
    }
  }

  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    return (await this.#quote(reportData)).quote;
  }

  /** Read once per process from a quote of its own (report data zero). */
  ownIdentity(): Promise<EnclaveIdentity> {
    this.#own ??= this.#quote(new Uint8Array(REPORT_DATA_BYTES)).then(
      ({ identity }) => identity,
      (error: unknown) => {
        this.#own = undefined;
        throw error;
      },
    );
    return this.#own;
  }

  async #quote(reportData: Uint8Array): Promise<{ quote: Uint8Array; identity: EnclaveIdentity }> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_BYTES)
      throw new TypeError(`report data must be ${REPORT_DATA_BYTES} bytes`);
    await this.#checkDcap();
    const reportDataPath = join(this.attestationDir, GRAMINE_FILES.userReportData);
    try {
      await this.#files.write(reportDataPath, reportData);
    } catch (error) {
      throw this.#failure(reportDataPath, error);
    }
    const path = join(this.attestationDir, GRAMINE_FILES.quote);
    const quote = await this.#read(path, SGX_QUOTE_MAX_BYTES);
    let body: ReturnType<typeof parseQuote>["body"];
    try {
      body = parseQuote(quote).body;
    } catch (error) {
      throw new PlatformError("bad_evidence", `${path} is not a DCAP quote: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (body.kind !== "sgx")
      throw new PlatformError("bad_evidence", `${path} holds a TDX quote, not an SGX one`);
    if (!sameBytes(body.reportData, reportData))
      throw new PlatformError("bad_evidence", `${path} is a quote for other report data than was written`);
    return {
      quote,
      identity: { measurement: body.mrEnclave.slice(), signerMeasurement: body.mrSigner.slice() },
    };
  }

  /** A quote of another attestation type (none, epid) is one no verifier here accepts: said once, early. */
  async #checkDcap(): Promise<void> {
    if (this.#dcapChecked) return;
    const path = join(this.attestationDir, GRAMINE_FILES.attestationType);
    const type = new TextDecoder().decode(await this.#read(path, ATTESTATION_TYPE_MAX_BYTES)).trim();
    if (type !== DCAP)
      throw new PlatformError("missing", `${path} says ${JSON.stringify(type)}, not "${DCAP}": ${NEEDS}`);
    this.#dcapChecked = true;
  }

  async #read(path: string, max: number): Promise<Uint8Array> {
    try {
      return await this.#files.read(path, max);
    } catch (error) {
      throw this.#failure(path, error);
    }
  }

  #failure(path: string, error: unknown): PlatformError {
    if (error instanceof PlatformError) return error;
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR")
      return new PlatformError("missing", `${path} does not exist: ${NEEDS}`, { cause: error });
    return new PlatformError("io", `${path}: ${code ?? String(error)}`, { cause: error });
  }
}
