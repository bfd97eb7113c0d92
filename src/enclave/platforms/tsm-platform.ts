// The TDX and SEV-SNP adapters: a confidential VM's enclave process gets its evidence from the
// kernel through configfs-tsm (configfs-tsm.ts). On TDX `outblob` is a DCAP quote (v4 or v5), on
// SEV-SNP the 1184-byte attestation report. Each answer is read with the verifiers' own strict
// parsers and must carry the very report data asked for: anything else is refused here, named,
// rather than sent to be refused by every peer. The enclave's own identity is what its evidence
// says, read as the verifiers read it (its measurement is the one its peers compare with theirs).
// On SEV-SNP the evidence is the report and the certificate table (`auxblob`) the kernel gave with it.
// Neither platform has a sealing key: sealing lasts for the process (process-sealing.ts).
import { sha256 } from "@noble/hashes/sha2.js";
import { sameBytes } from "../../attestation/dcap/bytes.js";
import { parseQuote } from "../../attestation/dcap/quote.js";
import { tdxMeasurement } from "../../attestation/dcap/tdx-measurement.js";
import { decodeSevSnpReport } from "../../attestation/sev-snp/report.js";
import { sevSnpEvidence } from "../../attestation/sev-snp.js";
import {
  type EnclaveIdentity,
  IDENTITY_BYTES,
  REPORT_DATA_BYTES,
  type SealingScope,
  type SealPolicy,
  type TeePlatform,
} from "../platform.js";
import { type TsmAnswer, type TsmOptions, type TsmPlatformName, TsmReports } from "./configfs-tsm.js";
import { PlatformError } from "./platform-files.js";
import { ProcessSealing } from "./process-sealing.js";

type Evidence = { reportData: Uint8Array; identity: EnclaveIdentity };

/**
 * How each platform's `outblob` is read. Measurements longer than 32 bytes (TDX's MRSIGNERSEAM,
 * SEV-SNP's MEASUREMENT, 48 bytes) are their SHA-256, as the contract and members record them
 * (`measurementWord`). SEV-SNP names no signer: its signer measurement is zero.
 */
const READERS = {
  tdx: (outblob: Uint8Array): Evidence => {
    const { body } = parseQuote(outblob);
    if (body.kind === "sgx")
      throw new PlatformError("bad_evidence", "configfs-tsm answered an SGX quote, not a TDX one");
    return {
      reportData: body.reportData,
      identity: { measurement: tdxMeasurement(body), signerMeasurement: sha256(body.mrSignerSeam) },
    };
  },
  "sev-snp": (outblob: Uint8Array): Evidence => {
    const report = decodeSevSnpReport(outblob);
    return {
      reportData: report.reportData,
      identity: {
        measurement: sha256(report.measurement),
        signerMeasurement: new Uint8Array(IDENTITY_BYTES),
      },
    };
  },
} as const satisfies Record<TsmPlatformName, (outblob: Uint8Array) => Evidence>;

export class TsmPlatform implements TeePlatform {
  readonly name: TsmPlatformName;
  readonly sealing: SealingScope = "process";
  readonly reports: TsmReports;
  readonly #sealing = new ProcessSealing();
  #own: Promise<EnclaveIdentity> | undefined;

  constructor(options: TsmOptions) {
    this.name = options.platform;
    this.reports = new TsmReports(options);
  }

  async sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Promise<Uint8Array> {
    return this.#sealing.sealingKey(policy, identity);
  }

  /**
   * The evidence to register: on TDX the quote; on SEV-SNP the report followed by the certificate
   * table the kernel gave with it (`sevSnpEvidence`), so members and clients need nothing else to
   * judge it (without one they refuse it: "no certificates").
   */
  async quote(reportData: Uint8Array): Promise<Uint8Array> {
    const { answer } = await this.#evidence(reportData);
    return this.name === "sev-snp" ? sevSnpEvidence(answer.outblob, answer.auxblob) : answer.outblob;
  }

  /** Read once per process from a report of its own (report data zero): one request to the kernel. */
  ownIdentity(): Promise<EnclaveIdentity> {
    this.#own ??= this.#evidence(new Uint8Array(REPORT_DATA_BYTES)).then(
      ({ evidence }) => evidence.identity,
      (error: unknown) => {
        this.#own = undefined; // not cached: a driver loaded later is picked up
        throw error;
      },
    );
    return this.#own;
  }

  async #evidence(reportData: Uint8Array): Promise<{ answer: TsmAnswer; evidence: Evidence }> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_BYTES)
      throw new TypeError(`report data must be ${REPORT_DATA_BYTES} bytes`);
    const answer = await this.reports.request(reportData);
    const { outblob } = answer;
    let evidence: Evidence;
    try {
      evidence = READERS[this.name](outblob);
    } catch (error) {
      if (error instanceof PlatformError) throw error;
      throw new PlatformError(
        "bad_evidence",
        `configfs-tsm answered ${outblob.length} bytes that are not ${this.name} evidence: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!sameBytes(evidence.reportData, reportData))
      throw new PlatformError(
        "bad_evidence",
        `configfs-tsm answered ${this.name} evidence for other report data`,
      );
    return { answer, evidence };
  }
}
