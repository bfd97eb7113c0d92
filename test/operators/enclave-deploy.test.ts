// `anonify enclave build --platform P` as an operator runs it (dist/): for a hardware platform it
// writes, beside the bundle, what to deploy (gramine-sgx: the manifest template; tdx, sev-snp: the VM
// image's description) and prints how the measurement to allow is obtained; two builds of one tree
// write the same bytes; a platform that is none, or a bundle name the deployment cannot use, is
// refused by name before anything is written.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";

const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
const run = promisify(execFile);
const anonify = (...args: string[]) => run(process.execPath, [CLI, ...args]);
const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;

type Built = { path: string; measurement: string; deployment: { files: string[]; allowList: string[] } };

describe("anonify enclave build: what to deploy on each hardware platform", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-enclave-deploy-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const build = async (platform: string, sub: string, json = true): Promise<Built | string> => {
    const out = join(dir, sub, "enclave.mjs");
    const { stdout } = await anonify(
      "enclave",
      "build",
      "--platform",
      platform,
      "--out",
      out,
      ...(json ? ["--json"] : []),
    );
    return json ? (JSON.parse(stdout) as Built) : stdout;
  };
  const contents = (built: Built) =>
    built.deployment.files.map((f) => [basename(f), readFileSync(f, "utf8")]);

  test("gramine-sgx: a manifest template pinning the bundle's sha256, the same from two builds", async () => {
    const first = (await build("gramine-sgx", "sgx-a")) as Built;
    const sha256 = createHash("sha256").update(readFileSync(first.path)).digest("hex");
    assert.equal(first.measurement, `0x${sha256}`);
    const template = readFileSync(join(dir, "sgx-a", "enclave.manifest.template"), "utf8");
    assert.ok(template.includes(`{ uri = "file:enclave.mjs", sha256 = "${sha256}" }`));
    assert.ok(template.includes('sgx.remote_attestation = "dcap"'));
    assert.match(
      first.deployment.allowList.join("\n"),
      /gramine-sgx-sigstruct-view --output-format=json enclave\.sig/,
    );
    // The second build, as an operator reads it: the same files, byte for byte.
    const text = (await build("gramine-sgx", "sgx-b", false)) as string;
    assert.match(text, /deploy {8}.*enclave\.manifest\.template/);
    assert.match(text, /Allow MRENCLAVE, which gramine-sgx-sign computes/);
    const again = first.deployment.files.map((f) => f.replace(`${join(dir, "sgx-a")}`, join(dir, "sgx-b")));
    assert.deepEqual(
      contents({ ...first, deployment: { ...first.deployment, files: again } }),
      contents(first),
    );
  });

  test("tdx and sev-snp: a description naming the bundle's sha256, the same from two builds", async () => {
    for (const platform of ["tdx", "sev-snp"]) {
      const first = (await build(platform, `${platform}-a`)) as Built;
      const second = (await build(platform, `${platform}-b`)) as Built;
      assert.deepEqual(contents(second), contents(first), platform);
      const description = JSON.parse(
        readFileSync(join(dir, `${platform}-a`, "enclave.deployment.json"), "utf8"),
      );
      assert.equal(description.platform, platform);
      assert.equal(`0x${description.bundle.sha256}`, first.measurement);
      assert.equal(description.measurement.verdictField, "measurement");
      assert.match(
        first.deployment.allowList[0] ?? "",
        new RegExp(`Allow the ${platform} measurement of the VM image`),
      );
    }
  });

  test("a platform that is none, or a bundle named as what sits beside it, is refused with nothing written", async () => {
    const out = join(dir, "refused", "enclave.mjs");
    await assert.rejects(anonify("enclave", "build", "--platform", "nosuch", "--out", out), (e) =>
      /rejected \(bad_platform\): --platform is one of sim, tdx, sev-snp, gramine-sgx, not "nosuch"/.test(
        stderrOf(e),
      ),
    );
    const node = join(dir, "refused", "node.mjs");
    await assert.rejects(anonify("enclave", "build", "--platform", "gramine-sgx", "--out", node), (e) =>
      /a gramine-sgx bundle is named other than node or data/.test(stderrOf(e)),
    );
    assert.ok(!existsSync(out) && !existsSync(node));
  });
});
