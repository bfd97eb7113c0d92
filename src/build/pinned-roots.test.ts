// Which roots a build pins: a release build gets no test plugin and holds no test code (the default
// bundle's measurement is the same as before test builds existed: it is built from the sources as
// they are); a test build names its test root as one PEM certificate, or is refused.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Metafile } from "esbuild";
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "../attestation/dcap/intel-root.js";
import { AMD_ARKS, ARK_GENOA_PEM } from "../attestation/sev-snp/amd-roots.js";
import { DEFAULT_ENCLAVE_CONFIG } from "./enclave-bundle.js";
import { isTestBuild, pemFingerprint, TestBuildError, testBuildPlugins, testCodeIn } from "./pinned-roots.js";

const config = { ...DEFAULT_ENCLAVE_CONFIG, appCodeHash: `0x${"ac".repeat(32)}` as const };
const inputs = (...files: string[]): Metafile =>
  ({ inputs: Object.fromEntries(files.map((f) => [f, { bytes: 1, imports: [] }])), outputs: {} }) as Metafile;

describe("pinned roots", () => {
  test("a release build is no test build and gets no plugin", () => {
    assert.equal(isTestBuild(config), false);
    assert.deepEqual(testBuildPlugins(config), []);
    assert.deepEqual(testBuildPlugins({ ...config, platform: "tdx" }), []);
  });

  test("a test build names its root as one PEM certificate; anything else is refused", () => {
    const test = { ...config, testRoots: { intel: INTEL_SGX_ROOT_CA_PEM } };
    assert.equal(isTestBuild(test), true);
    assert.equal(testBuildPlugins(test).length, 1);
    assert.equal(isTestBuild({ ...config, emulatedRoot: "/tmp/tree" }), true);
    assert.equal(testBuildPlugins({ ...config, platform: "tdx", emulatedRoot: "/tmp/tree" }).length, 1);
    assert.throws(
      () =>
        testBuildPlugins({
          ...config,
          testRoots: { intel: `${INTEL_SGX_ROOT_CA_PEM}${INTEL_SGX_ROOT_CA_PEM}` },
        }),
      TestBuildError,
    );
    assert.throws(
      () => testBuildPlugins({ ...config, testRoots: { intel: "not a certificate" } }),
      TestBuildError,
    );
  });

  test("a test build's AMD root is one ARK, its product named by its common name; anything else is refused", () => {
    assert.equal(testBuildPlugins({ ...config, testRoots: { amd: ARK_GENOA_PEM } }).length, 1);
    const both = { ...config, testRoots: { intel: INTEL_SGX_ROOT_CA_PEM, amd: ARK_GENOA_PEM } };
    assert.equal(testBuildPlugins(both).length, 2);
    assert.throws(
      () => testBuildPlugins({ ...config, testRoots: { amd: INTEL_SGX_ROOT_CA_PEM } }),
      /testRoots.amd must be an ARK: its common name ARK-<Milan\|Genoa\|Turin>/,
    );
    assert.throws(
      () => testBuildPlugins({ ...config, testRoots: { amd: "not a certificate" } }),
      TestBuildError,
    );
  });

  test("the test code a bundle holds is named (what a release build refuses)", () => {
    const metafile = inputs(
      "src/enclave/main.ts",
      "src/enclave/platforms/test-configfs.ts",
      "src/attestation/dcap/test-pki.ts",
      "src/attestation/sev-snp/test-pki.ts",
      "src/attestation/sev-snp/test-report.ts",
      "src/app/sandbox.test.ts",
      "node_modules/some-lib/test-utils.ts",
      "src/attestation/dcap/pki.ts",
    );
    assert.deepEqual(testCodeIn(metafile), [
      "src/enclave/platforms/test-configfs.ts",
      "src/attestation/dcap/test-pki.ts",
      "src/attestation/sev-snp/test-pki.ts",
      "src/attestation/sev-snp/test-report.ts",
      "src/app/sandbox.test.ts",
    ]);
  });

  test("a root is named by the SHA-256 of its DER, as Intel and AMD's pins name their own", () => {
    assert.equal(pemFingerprint(INTEL_SGX_ROOT_CA_PEM), INTEL_SGX_ROOT_CA_SHA256);
    for (const ark of AMD_ARKS) assert.equal(pemFingerprint(ark.pem), ark.sha256);
  });
});
