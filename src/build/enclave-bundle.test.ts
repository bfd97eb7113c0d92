import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { appIdOf } from "../protocol/digests.js";
import { appCodeHash, buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG, ENCLAVE_ENTRY } from "./enclave-bundle.js";

describe("enclave measurement", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-measure-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("two builds of the same tree give the same measurement", async () => {
    const a = await buildEnclaveBundle({ outFile: join(dir, "a.mjs") });
    const b = await buildEnclaveBundle({ outFile: join(dir, "b.mjs") });
    assert.match(a.measurement, /^0x[0-9a-f]{64}$/);
    assert.equal(a.measurement, b.measurement);
  });

  test("a one-byte change in enclave code or a change of config gives another", async () => {
    const base = await buildEnclaveBundle({ outFile: join(dir, "base.mjs") });
    // The same enclave program with one byte of code changed (1 → 2) in an extra module.
    const variants = [1, 2].map((n) => {
      const entry = join(dir, `entry-${n}.ts`);
      writeFileSync(
        entry,
        `import ${JSON.stringify(ENCLAVE_ENTRY)};\n(globalThis as Record<string, unknown>).__variant = ${n};\n`,
      );
      return entry;
    });
    const one = await buildEnclaveBundle({ outFile: join(dir, "one.mjs"), entry: variants[0] });
    const two = await buildEnclaveBundle({ outFile: join(dir, "two.mjs"), entry: variants[1] });
    assert.notEqual(one.measurement, two.measurement);
    assert.notEqual(one.measurement, base.measurement);
    const otherConfig = await buildEnclaveBundle({
      outFile: join(dir, "config.mjs"),
      config: { ...DEFAULT_ENCLAVE_CONFIG, version: "other" },
    });
    assert.notEqual(otherConfig.measurement, base.measurement);
    assert.equal(otherConfig.signerMeasurement, base.signerMeasurement, "the signer stays the same");
    // The app's identity is its own code's, whatever else the build pins.
    assert.deepEqual(otherConfig.app, base.app);
    assert.equal(base.app.name, "erc20");
    assert.equal(base.app.codeHash, await appCodeHash("erc20"), "one app, one code hash");
    assert.equal(base.app.id, appIdOf(base.app));
    await assert.rejects(
      buildEnclaveBundle({ config: { ...DEFAULT_ENCLAVE_CONFIG, app: "none" } }),
      /no app "none": the apps are auction, erc20, voting/,
    );
  });
});
