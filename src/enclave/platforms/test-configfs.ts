// Test builds only (src/build/pinned-roots.ts puts it behind configfs-tsm.ts in a bundle whose
// measured configuration names an `emulatedRoot`; a release bundle holding it fails to build): the
// kernel's side of configfs-tsm, in the enclave process, over the real files of the emulated tree.
// Plain files cannot play configfs across processes (an entry's attributes exist the moment `mkdir`
// returns; only the kernel's side of the call can make them), so the kernel's part runs here, around
// the real file calls: `mkdir` of an entry makes `provider`, `generation` (0), `inblob`, `outblob`;
// a write to `inblob` advances `generation`; reading `outblob` asks the quote service for the report
// of the `inblob` written, as the guest driver asks the host's quote generation service (TDX's QGS)
// or the secure processor. The service is the test's (test-qgs.ts), on a Unix socket in the tree:
//   request  = inblob (64 bytes), then the end of the request
//   response = outblob size (u32 little-endian) | outblob | auxblob (the rest, possibly empty)
// An empty response is the service refusing: the read fails with EIO, as the kernel's would.
import { rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { basename, dirname, join } from "node:path";
import { TSM_INBLOB_BYTES, TSM_PROVIDERS, TSM_REPORT_DIR } from "./configfs-tsm.js";
import { NODE_FILES as REAL_FILES } from "./platform-files.js";

export { errnoOf, PlatformError, type PlatformFiles } from "./platform-files.js";

declare const __ANONIFY_ENCLAVE_CONFIG__: { platform: keyof typeof TSM_PROVIDERS };

/** The quote service's socket, at the emulated tree's root. */
export const QGS_SOCKET = "qgs.sock";
const SIZE_FIELD = 4;
const ATTRIBUTES = ["provider", "generation", "inblob", "outblob", "auxblob"] as const;

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

/** The emulated tree's root, when `entry` is a report entry of one. */
function rootOfEntry(entry: string): string | undefined {
  const reportDir = dirname(entry);
  return reportDir.endsWith(TSM_REPORT_DIR) ? reportDir.slice(0, -TSM_REPORT_DIR.length) : undefined;
}

/** The quote service's answer for `inblob`: outblob and auxblob (test-gramine-attestation.ts asks it too). */
export function ask(
  socket: string,
  inblob: Uint8Array,
): Promise<{ outblob: Uint8Array; auxblob: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client = connect(socket);
    client.on("data", (chunk: Buffer) => chunks.push(chunk));
    client.on("error", (error) => reject(Object.assign(error, { code: "EIO" })));
    client.on("end", () => {
      const answer = Buffer.concat(chunks);
      const size = answer.length >= SIZE_FIELD ? answer.readUInt32LE(0) : -1;
      if (size <= 0 || SIZE_FIELD + size > answer.length) return reject(errno("EIO", socket));
      resolve({
        outblob: new Uint8Array(answer.subarray(SIZE_FIELD, SIZE_FIELD + size)),
        auxblob: new Uint8Array(answer.subarray(SIZE_FIELD + size)),
      });
    });
    client.end(inblob);
  });
}

async function advanceGeneration(entry: string): Promise<void> {
  const path = join(entry, "generation");
  const text = new TextDecoder().decode(await REAL_FILES.read(path, TSM_INBLOB_BYTES));
  await writeFile(path, `${Number.parseInt(text, 10) + 1}\n`);
}

/** The adapter's files, with the kernel's side of configfs-tsm around them. */
export const NODE_FILES: typeof REAL_FILES = {
  async mkdir(path) {
    await REAL_FILES.mkdir(path);
    if (rootOfEntry(path) === undefined) return;
    await writeFile(join(path, "provider"), `${TSM_PROVIDERS[__ANONIFY_ENCLAVE_CONFIG__.platform]}\n`);
    await writeFile(join(path, "generation"), "0\n");
    await writeFile(join(path, "inblob"), new Uint8Array(0));
    await writeFile(join(path, "outblob"), new Uint8Array(0));
  },
  async write(path, bytes) {
    const entry = dirname(path);
    if (basename(path) !== "inblob" || rootOfEntry(entry) === undefined) return REAL_FILES.write(path, bytes);
    // The kernel's inblob holds TSM_INBLOB_MAX bytes: a longer write fails (EFBIG).
    if (bytes.length > TSM_INBLOB_BYTES) throw errno("EFBIG", path);
    await writeFile(path, bytes);
    await advanceGeneration(entry);
  },
  async read(path, max) {
    const entry = dirname(path);
    const root = rootOfEntry(entry);
    if (basename(path) === "outblob" && root !== undefined) {
      const inblob = await REAL_FILES.read(join(entry, "inblob"), TSM_INBLOB_BYTES);
      const { outblob, auxblob } = await ask(join(root, QGS_SOCKET), inblob);
      await writeFile(path, outblob);
      if (auxblob.length > 0) await writeFile(join(entry, "auxblob"), auxblob);
    }
    return REAL_FILES.read(path, max);
  },
  async rmdir(path) {
    // A configfs entry goes with its attributes; in plain files they go first.
    if (rootOfEntry(path) !== undefined)
      for (const attribute of ATTRIBUTES) await rm(join(path, attribute), { force: true });
    return REAL_FILES.rmdir(path);
  },
};
