// `--test-roots FILE` / `--root FILE`: each certificate in the file is read for the vendor it stands
// for (an AMD ARK by its common name, an ECDSA root of Intel's shape), at most one of each; anything
// else is refused by name, and a build given the file is a test build pinning those roots.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { INTEL_SGX_ROOT_CA_PEM } from "../attestation/dcap/intel-root.js";
import { ARK_GENOA_PEM, ARK_MILAN_PEM } from "../attestation/sev-snp/amd-roots.js";
import { derToPem, fixtureText, pemToDers } from "../attestation/sev-snp/test-fixtures.js";
import { isTestBuild } from "../build/pinned-roots.js";
import { OperatorError } from "../operator/operator-checks.js";
import { buildConfig } from "./enclave.js";
import { readRootOverrides } from "./root-flags.js";

describe("root flags", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-root-flags-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const refused = (pattern: RegExp) => (e: unknown) =>
    e instanceof OperatorError && e.code === "bad_roots" && pattern.test(e.message);

  test("an Intel-shaped root and an AMD ARK are told apart, in either order", () => {
    const roots = readRootOverrides(
      file("both.pem", `${ARK_GENOA_PEM}\r\n${INTEL_SGX_ROOT_CA_PEM}`),
      "--root",
    );
    assert.deepEqual(roots, { intel: INTEL_SGX_ROOT_CA_PEM, amd: ARK_GENOA_PEM });
    assert.deepEqual(readRootOverrides(file("amd.pem", ARK_MILAN_PEM), "--root"), { amd: ARK_MILAN_PEM });
  });

  test("two roots of one vendor, no certificate, an RSA certificate that is no ARK: refused, named", () => {
    assert.throws(
      () => readRootOverrides(file("two.pem", ARK_GENOA_PEM + ARK_MILAN_PEM), "--root"),
      refused(/^--root .*two\.pem: holds two amd roots; give one$/),
    );
    assert.throws(
      () => readRootOverrides(file("none.pem", "hello"), "--root"),
      refused(/holds no PEM certificate$/),
    );
    assert.throws(() => readRootOverrides(join(dir, "absent.pem"), "--root"), refused(/cannot read it/));
    // The ASK of a real chain: RSA, but SEV-Milan, not an ARK.
    const ask = derToPem(pemToDers(fixtureText("milan-ask-ark.pem"))[0]!);
    assert.throws(
      () => readRootOverrides(file("ask.pem", ask), "--test-roots"),
      refused(/CN=SEV-Milan.* is neither an AMD ARK/),
    );
  });

  test("anonify enclave build --test-roots --emulated-root makes a test build pinning them", () => {
    const base = {
      app: "erc20",
      release: "0.1.0",
      out: "x.mjs",
      profile: "development",
      policySigner: [],
      json: false,
    };
    assert.equal(isTestBuild(buildConfig(base)), false);
    const config = buildConfig({
      ...base,
      platform: "sev-snp",
      testRoots: file("ark.pem", ARK_GENOA_PEM),
      emulatedRoot: dir,
    });
    assert.deepEqual(config.testRoots, { amd: ARK_GENOA_PEM });
    assert.equal(config.emulatedRoot, dir);
    assert.equal(isTestBuild(config), true);
  });
});
