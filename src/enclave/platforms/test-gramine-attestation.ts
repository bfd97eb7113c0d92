// Test builds only (src/build/pinned-roots.ts puts it behind gramine-sgx-platform.ts in a bundle whose
// measured configuration names an `emulatedRoot`): Gramine's side of /dev/attestation, in the enclave
// process, over the emulated tree. Gramine serves the pseudo-files to each enclave on its own: the
// report data written to `user_report_data` is that enclave's, and reading `quote` has Gramine ask the
// host's quoting enclave for a quote of it. Plain files shared by several enclave processes cannot
// play that (one's write would be another's quote), so the report data is kept in this process and
// `quote` is answered by the test's quote service on `<root>/qgs.sock` (test-configfs.ts says the
// exchange; test-qgs.ts serves it). Every other file (`attestation_type`, `keys/*`) is the real file
// the stand-in launcher made (test/support/emulated-gramine.ts), as Gramine makes them at start.
import { basename, dirname } from "node:path";
import { PlatformError, NODE_FILES as REAL_FILES } from "./platform-files.js";
import { ask, QGS_SOCKET } from "./test-configfs.js";

export { errnoOf, PlatformError, type PlatformFiles } from "./platform-files.js";

/** Gramine's pseudo-files, as gramine-sgx-platform.ts names them (not imported: it imports this module). */
const ATTESTATION_DIR = "/dev/attestation";
const USER_REPORT_DATA = "user_report_data";
const QUOTE = "quote";
/** Gramine takes at most 64 bytes of report data (sgx_report_data_t). */
const REPORT_DATA_BYTES = 64;

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

/** The emulated tree's root, when `path` is one of its attestation files. */
function rootOf(path: string): string | undefined {
  const dir = dirname(path);
  return dir.endsWith(ATTESTATION_DIR) ? dir.slice(0, -ATTESTATION_DIR.length) : undefined;
}

/** This enclave's report data, as Gramine keeps it for the enclave that wrote it. */
let reportData = new Uint8Array(REPORT_DATA_BYTES);

/** The adapter's files, with Gramine's side of /dev/attestation around them. */
export const NODE_FILES: typeof REAL_FILES = {
  mkdir: (path) => REAL_FILES.mkdir(path),
  rmdir: (path) => REAL_FILES.rmdir(path),
  async write(path, bytes) {
    if (basename(path) !== USER_REPORT_DATA || rootOf(path) === undefined)
      return REAL_FILES.write(path, bytes);
    // Gramine refuses more than the report data holds; the file must exist (it is Gramine's), and
    // shows what was written. The quote is made from this process's own copy.
    if (bytes.length > REPORT_DATA_BYTES) throw errno("EINVAL", path);
    await REAL_FILES.write(path, bytes);
    reportData = new Uint8Array(REPORT_DATA_BYTES);
    reportData.set(bytes);
  },
  async read(path, max) {
    const root = rootOf(path);
    if (basename(path) !== QUOTE || root === undefined) return REAL_FILES.read(path, max);
    const { outblob } = await ask(`${root}/${QGS_SOCKET}`, reportData);
    if (outblob.length > max) throw new PlatformError("too_large", `${path} holds more than ${max} bytes`);
    return outblob;
  },
};
