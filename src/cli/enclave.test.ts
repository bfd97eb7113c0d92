// `anonify enclave build --release`: the release a build names is measured, so an operator's new
// release of the same tree is a new measurement a policy must admit (what a rolling upgrade moves to),
// and the same release built twice is one.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_CONFIG,
  DEFAULT_RELEASE,
  measureEnclaveBundle,
} from "../build/enclave-bundle.js";
import { OperatorError } from "../operator/operator-checks.js";
import { buildConfig } from "./enclave.js";

const flags = (release: string) => ({
  app: DEFAULT_ENCLAVE_CONFIG.app,
  release,
  out: "unused.mjs",
  profile: "development",
  policySigner: [],
  json: false,
});

describe("anonify enclave build --release", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-release-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const build = (release: string, name: string) =>
    buildEnclaveBundle({ outFile: join(dir, name), config: buildConfig(flags(release)) });

  test("two releases are two measurements; one release built twice is one", async () => {
    const first = await build("1.1.0", "a.mjs");
    const again = await build("1.1.0", "b.mjs");
    const next = await build("1.2.0", "c.mjs");
    assert.equal(first.measurement, again.measurement);
    assert.notEqual(first.measurement, next.measurement);
    assert.equal(first.release, "1.1.0");
    assert.equal(next.release, "1.2.0");
    // The same app either way: only the build is new, the group's app is not.
    assert.deepEqual(first.app, next.app);
    // The default release is the default build's: its measurement does not move with the flag.
    const byDefault = await build(DEFAULT_RELEASE, "d.mjs");
    assert.equal(
      byDefault.measurement,
      (await buildEnclaveBundle({ outFile: join(dir, "e.mjs") })).measurement,
    );
  });

  test("a release name that is not one is refused, naming the flag", () => {
    for (const bad of ["", " 1.0", "1.0 beta", "-rc", "a".repeat(65), 'x"y']) {
      assert.throws(
        () => buildConfig(flags(bad)),
        (e: unknown) => e instanceof OperatorError && e.code === "bad_release" && /--release/.test(e.message),
        JSON.stringify(bad),
      );
    }
  });
});

describe("anonify enclave build --platform", () => {
  test("the platform is measured in: a build for tdx is another measurement than for sim", async () => {
    const config = buildConfig({ ...flags(DEFAULT_RELEASE), platform: "tdx" });
    assert.equal(config.platform, "tdx");
    assert.equal(buildConfig(flags(DEFAULT_RELEASE)).platform, "sim", "sim unless told");
    const onTdx = await measureEnclaveBundle({ config });
    const onSim = await measureEnclaveBundle({ config: buildConfig(flags(DEFAULT_RELEASE)) });
    assert.notEqual(onTdx.measurement, onSim.measurement);
  });

  test("a platform that is none of the adapters is refused, naming them", () => {
    for (const bad of ["sgx", "nitro", "TDX", ""]) {
      assert.throws(
        () => buildConfig({ ...flags(DEFAULT_RELEASE), platform: bad }),
        (e: unknown) =>
          e instanceof OperatorError &&
          e.code === "bad_platform" &&
          /--platform is one of sim, tdx, sev-snp, gramine-sgx/.test(e.message),
        bad,
      );
    }
  });
});
