// Which roots an enclave build pins, and what a test build puts in place of the hardware. A release
// build is built from the sources as they are: Intel's and AMD's roots (dcap/intel-root.ts,
// sev-snp/amd-roots.ts), the real configfs-tsm files, and no test code at all (`testCodeIn`: the build
// refuses a release bundle holding any). A test build, which the build configuration names
// (`testRoots`, `emulatedRoot`: both inside the measured bundle, so it is never a release's
// measurement), gets at build time:
//   - `testRoots.intel`: the module of Intel's pinned root replaced by one holding the test PKI's
//     root (src/attestation/dcap/test-pki.ts): every verifier and collateral check in the enclave pins it;
//   - `testRoots.amd`: the module of AMD's pinned ARKs replaced by one holding the test PKI's ARK
//     (src/attestation/sev-snp/test-pki.ts; its common name, ARK-<product>, says its product);
//   - `emulatedRoot` on tdx / sev-snp: the configfs-tsm adapter's files behind the emulated kernel of
//     src/enclave/platforms/test-configfs.ts, which answers from the quote service a test runs;
//   - `emulatedRoot` on gramine-sgx: the adapter's files behind Gramine's emulated /dev/attestation
//     (src/enclave/platforms/test-gramine-attestation.ts), its quotes from that service too.
import { createHash, X509Certificate } from "node:crypto";
import { basename, join } from "node:path";
import type { Metafile, Plugin } from "esbuild";
import type { EnclaveConfig } from "../enclave/context.js";
import { REPO_ROOT } from "./deterministic-build.js";

/** The pinned-root module a test build replaces. */
const INTEL_ROOT_MODULE = join(REPO_ROOT, "src/attestation/dcap/intel-root.ts");
const AMD_ROOTS_MODULE = join(REPO_ROOT, "src/attestation/sev-snp/amd-roots.ts");
/** The configfs-tsm adapter, whose files a test build puts behind the emulated kernel. */
const CONFIGFS_MODULE = join(REPO_ROOT, "src/enclave/platforms/configfs-tsm.ts");
const EMULATED_CONFIGFS = join(REPO_ROOT, "src/enclave/platforms/test-configfs.ts");
/** The Gramine-SGX adapter, whose files a test build puts behind Gramine's emulated /dev/attestation. */
const GRAMINE_MODULE = join(REPO_ROOT, "src/enclave/platforms/gramine-sgx-platform.ts");
const EMULATED_GRAMINE = join(REPO_ROOT, "src/enclave/platforms/test-gramine-attestation.ts");
const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/;
/** Test code, as the layout names it (test/layout.test.ts): `test-*.ts` and `*.test.ts`. */
const TEST_CODE = /^test-[^/]*\.ts$|\.test(-d)?\.ts$/;

export class TestBuildError extends Error {
  override name = "TestBuildError";
}

/** Whether a configuration is a test build's: a release build names neither. */
export const isTestBuild = (config: Pick<EnclaveConfig, "testRoots" | "emulatedRoot">): boolean =>
  config.testRoots !== undefined || config.emulatedRoot !== undefined;

/** The SHA-256 of a PEM certificate's DER, hex: how a pinned root is named. */
export function pemFingerprint(pem: string): string {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
  return createHash("sha256").update(Buffer.from(body, "base64")).digest("hex");
}

/** The module that stands for Intel's root in a test build: the test root, said on start. */
function testIntelRoot(pem: string): string {
  const fingerprint = pemFingerprint(pem);
  return [
    "// TEST BUILD (src/build/pinned-roots.ts): the pinned root is a test PKI's, not Intel's.",
    `process.stderr.write(${JSON.stringify(`enclave: TEST BUILD: the pinned Intel root is a test PKI's (SHA-256 ${fingerprint})\n`)});`,
    `export const INTEL_SGX_ROOT_CA_PEM = ${JSON.stringify(pem)};`,
    `export const INTEL_SGX_ROOT_CA_SHA256 = ${JSON.stringify(fingerprint)};`,
  ].join("\n");
}

/** The module that stands for AMD's ARKs in a test build: the test ARK, for the product it names. */
function testAmdRoots(pem: string): string {
  const fingerprint = pemFingerprint(pem);
  // The products of sev-snp/tcb.ts (src/build does not import src/attestation: test/layout.test.ts).
  const product = /^CN=ARK-(Milan|Genoa|Turin)$/m.exec(new X509Certificate(pem).subject)?.[1];
  if (product === undefined)
    throw new TestBuildError("testRoots.amd must be an ARK: its common name ARK-<Milan|Genoa|Turin>");
  const ark = { product, pem, sha256: fingerprint };
  return [
    "// TEST BUILD (src/build/pinned-roots.ts): the pinned ARK is a test PKI's, not AMD's.",
    `process.stderr.write(${JSON.stringify(`enclave: TEST BUILD: the pinned AMD root is a test PKI's ARK-${product} (SHA-256 ${fingerprint})\n`)});`,
    `export const AMD_ARKS = [${JSON.stringify(ark)}];`,
  ].join("\n");
}

/** A plugin loading `contents` in place of the module at `path`. */
const replaceModule = (name: string, path: string, contents: string): Plugin => ({
  name,
  setup(build) {
    build.onLoad({ filter: new RegExp(`${basename(path).replace(".", "\\.")}$`) }, (args) =>
      args.path === path ? { contents, loader: "js" } : undefined,
    );
  },
});

/** One PEM certificate, or a TestBuildError naming `what`. */
function onePem(pem: string, what: string): string {
  if (!PEM_CERTIFICATE.test(pem))
    throw new TestBuildError(`${what} must be one PEM certificate (the test PKI's root)`);
  return pem;
}

/** Per platform: the adapter whose files a test build with `emulatedRoot` puts behind its emulation. */
const EMULATED_FILES: Partial<Record<EnclaveConfig["platform"], { adapter: string; files: string }>> = {
  tdx: { adapter: CONFIGFS_MODULE, files: EMULATED_CONFIGFS },
  "sev-snp": { adapter: CONFIGFS_MODULE, files: EMULATED_CONFIGFS },
  "gramine-sgx": { adapter: GRAMINE_MODULE, files: EMULATED_GRAMINE },
};

/** The plugins of a test build (none for a release build). */
export function testBuildPlugins(config: EnclaveConfig): Plugin[] {
  const plugins: Plugin[] = [];
  const { intel, amd } = config.testRoots ?? {};
  if (intel !== undefined) {
    const contents = testIntelRoot(onePem(intel, "testRoots.intel"));
    plugins.push(replaceModule("test-intel-root", INTEL_ROOT_MODULE, contents));
  }
  if (amd !== undefined) {
    const contents = testAmdRoots(onePem(amd, "testRoots.amd"));
    plugins.push(replaceModule("test-amd-roots", AMD_ROOTS_MODULE, contents));
  }
  const emulated = config.emulatedRoot === undefined ? undefined : EMULATED_FILES[config.platform];
  if (emulated) {
    plugins.push({
      name: `emulated-${config.platform}`,
      setup(build) {
        build.onResolve({ filter: /^\.\/platform-files\.js$/ }, (args) =>
          args.importer === emulated.adapter ? { path: emulated.files } : undefined,
        );
      },
    });
  }
  return plugins;
}

/** The test code a bundle holds (paths from the build's working directory): a release holds none. */
export function testCodeIn(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter(
    (file) => !file.includes("node_modules/") && TEST_CODE.test(basename(file)),
  );
}
