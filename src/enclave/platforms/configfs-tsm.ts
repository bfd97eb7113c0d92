// Attestation reports through Linux's configfs-tsm (Documentation/ABI/testing/configfs-tsm-report,
// since Linux 6.7), the one interface TDX and SEV-SNP guests share: make an entry directory under
// /sys/kernel/config/tsm/report, write up to 64 bytes to its `inblob`, read `outblob`, remove the
// entry. `provider` names the driver that answers (`tdx_guest`, `sev_guest`); `generation` counts the
// writes to the entry, so reading it before and after shows whether another writer changed the
// request while the report was made (the kernel documents this as the way to detect a collision).
//
// One entry per request, named with 96 random bits, so no other process shares it unless it looks
// for it; a generation that moved anyway (someone in the VM writes into entries it did not make) is
// retried in a fresh entry, then refused. The entry is removed whatever happens.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { errnoOf, NODE_FILES, PlatformError, type PlatformFiles } from "./platform-files.js";

/** Where the kernel puts report entries. */
export const TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";
/** The kernel that has it, for operators who do not. */
export const TSM_KERNEL = "Linux 6.7";
/** TSM_INBLOB_MAX in include/linux/tsm.h. */
export const TSM_INBLOB_BYTES = 64;
/** TSM_OUTBLOB_MAX (SZ_32K): the largest `outblob` the kernel serves. */
export const TSM_OUTBLOB_MAX_BYTES = 32 * 1024;
/** The provider names of the drivers (their KBUILD_MODNAME), by the platform they serve. */
export const TSM_PROVIDERS = { tdx: "tdx_guest", "sev-snp": "sev_guest" } as const;
export type TsmPlatformName = keyof typeof TSM_PROVIDERS;

/** Fresh entries tried before a moving generation is refused. */
const TSM_ATTEMPTS = 3;
const ENTRY_PREFIX = "anonify-";
const ENTRY_RANDOM_BYTES = 12;
/** `provider` is a driver name and `generation` a decimal counter: both far below this. */
const ATTRIBUTE_MAX_BYTES = 64;
const GENERATION = /^(\d{1,20})\n?$/;

export type TsmOptions = {
  /** The platform the build is for: its provider is the only one accepted. */
  platform: TsmPlatformName;
  /** Default the real one; tests point it at a directory that plays the kernel. */
  reportDir?: string;
  files?: PlatformFiles;
};

/** What the kernel answered for one request. */
export type TsmAnswer = { outblob: Uint8Array; auxblob?: Uint8Array };

export class TsmReports {
  readonly reportDir: string;
  readonly #platform: TsmPlatformName;
  readonly #files: PlatformFiles;

  constructor(options: TsmOptions) {
    this.#platform = options.platform;
    this.reportDir = options.reportDir ?? TSM_REPORT_DIR;
    this.#files = options.files ?? NODE_FILES;
  }

  /**
   * The provider's `outblob` for exactly these 64 bytes of `inblob`, and on SEV-SNP its `auxblob`
   * (the certificate table the host supplied: VCEK or VLEK and their chain), when there is one.
   */
  async request(inblob: Uint8Array): Promise<TsmAnswer> {
    if (!(inblob instanceof Uint8Array) || inblob.length !== TSM_INBLOB_BYTES)
      throw new TypeError(`configfs-tsm inblob must be ${TSM_INBLOB_BYTES} bytes`);
    let moved = "";
    for (let attempt = 0; attempt < TSM_ATTEMPTS; attempt++) {
      const answer = await this.#once(inblob);
      if (answer.outblob) return { outblob: answer.outblob, auxblob: answer.auxblob };
      moved = answer.moved;
    }
    throw new PlatformError(
      "concurrent_writer",
      `configfs-tsm: another writer changed the request in ${TSM_ATTEMPTS} fresh entries under ` +
        `${this.reportDir} (last: ${moved}); refusing a report that may not be for this request`,
    );
  }

  async #once(
    inblob: Uint8Array,
  ): Promise<(TsmAnswer & { moved?: never }) | { outblob?: never; moved: string }> {
    const entry = join(this.reportDir, `${ENTRY_PREFIX}${randomBytes(ENTRY_RANDOM_BYTES).toString("hex")}`);
    await this.#makeEntry(entry);
    try {
      const provider = new TextDecoder()
        .decode(await this.#read(entry, "provider", ATTRIBUTE_MAX_BYTES))
        .trim();
      const expected = TSM_PROVIDERS[this.#platform];
      if (provider !== expected)
        throw new PlatformError(
          "wrong_provider",
          `${join(entry, "provider")} says ${JSON.stringify(provider)}: this enclave is built for ` +
            `${this.#platform}, whose provider is ${expected}`,
        );
      const before = await this.#generation(entry);
      await this.#write(entry, "inblob", inblob);
      const outblob = await this.#read(entry, "outblob", TSM_OUTBLOB_MAX_BYTES);
      // Read within the same generation as the report it goes with.
      const auxblob = this.#platform === "sev-snp" ? await this.#auxblob(entry) : undefined;
      const after = await this.#generation(entry);
      // Exactly our one write between the two reads: the report is for our inblob.
      if (after !== before + 1n) return { moved: `generation ${before} became ${after}, not ${before + 1n}` };
      if (outblob.length === 0) throw new PlatformError("bad_evidence", `${join(entry, "outblob")} is empty`);
      return { outblob, auxblob };
    } finally {
      // Best effort: a failed removal leaves a kernel object behind, never a wrong answer.
      await this.#files.rmdir(entry).catch(() => undefined);
    }
  }

  async #makeEntry(entry: string): Promise<void> {
    try {
      await this.#files.mkdir(entry);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR")
        throw new PlatformError(
          "missing",
          `${this.reportDir} does not exist: configfs-tsm needs ${TSM_KERNEL} or later (CONFIG_TSM_REPORTS), ` +
            `configfs mounted at /sys/kernel/config, and the ${TSM_PROVIDERS[this.#platform]} driver`,
          { cause: error },
        );
      // The kernel refuses a new entry with ENXIO while no provider driver is registered.
      if (code === "ENXIO")
        throw new PlatformError(
          "missing",
          `${this.reportDir}: no attestation provider is registered (load the ${TSM_PROVIDERS[this.#platform]} driver)`,
          { cause: error },
        );
      throw new PlatformError("io", `cannot create ${entry} (${code ?? String(error)})`, { cause: error });
    }
  }

  /** `auxblob`, or undefined where the kernel has none or the host supplied no certificates. */
  async #auxblob(entry: string): Promise<Uint8Array | undefined> {
    const path = join(entry, "auxblob");
    try {
      const auxblob = await this.#files.read(path, TSM_OUTBLOB_MAX_BYTES);
      return auxblob.length > 0 ? auxblob : undefined;
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined;
      throw this.#failure(path, error);
    }
  }

  async #read(entry: string, attribute: string, max: number): Promise<Uint8Array> {
    const path = join(entry, attribute);
    try {
      return await this.#files.read(path, max);
    } catch (error) {
      throw this.#failure(path, error);
    }
  }

  async #write(entry: string, attribute: string, bytes: Uint8Array): Promise<void> {
    const path = join(entry, attribute);
    try {
      await this.#files.write(path, bytes);
    } catch (error) {
      throw this.#failure(path, error);
    }
  }

  async #generation(entry: string): Promise<bigint> {
    const text = new TextDecoder().decode(await this.#read(entry, "generation", ATTRIBUTE_MAX_BYTES));
    const match = GENERATION.exec(text);
    if (!match)
      throw new PlatformError("io", `${join(entry, "generation")} is not a counter: ${JSON.stringify(text)}`);
    return BigInt(match[1]!);
  }

  #failure(path: string, error: unknown): PlatformError {
    if (error instanceof PlatformError) return error;
    const code = errnoOf(error);
    if (code === "ENOENT")
      return new PlatformError(
        "missing",
        `${path} does not exist: ${this.reportDir} is not a configfs-tsm report directory (${TSM_KERNEL} or later)`,
        { cause: error },
      );
    return new PlatformError("io", `${path}: ${code ?? String(error)}`, { cause: error });
  }
}
