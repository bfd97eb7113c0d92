// What `anonify enclave build` writes for an operator to deploy on hardware: the Gramine manifest
// template (valid TOML, keys Gramine's schema knows, consistent with what the gramine-sgx adapter
// reads) and the TDX / SEV-SNP descriptions (the bundle's hash and the RTMR3 value, the latter
// recomputed here independently and by the very shell recipe the description prints).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, test } from "node:test";
import { GRAMINE_ATTESTATION_DIR } from "../enclave/platforms/gramine-sgx-platform.js";
import {
  GRAMINE_PATHS,
  GRAMINE_REMOTE_ATTESTATION,
  type GramineBundle,
  gramineManifestEntries,
  gramineManifestTemplate,
} from "./deploy-gramine.js";
import {
  type DeployedBundle,
  RTMR_BYTES,
  RTMR3_EVENT_TAG,
  rtmr3ForBundle,
  vmDeployment,
} from "./deploy-vm.js";
import { writeDeployment } from "./deployment.js";
import type { EnclaveBundle } from "./enclave-bundle.js";
import { gramineSchemaProblems, type Manifest } from "./test-gramine-schema.js";
import { tomlDocument } from "./toml-lines.js";

const BUNDLE_BYTES = new TextEncoder().encode("export {}; // a stand-in bundle\n");
const SHA256 = createHash("sha256").update(BUNDLE_BYTES).digest("hex");
const APP = { name: "erc20", id: `0x${"ab".repeat(32)}`, codeHash: `0x${"cd".repeat(32)}` };
const gramineBundle: GramineBundle = { file: "enclave.mjs", sha256: SHA256, release: "1.2.3", app: APP };
const vmBundle: DeployedBundle = {
  file: "enclave.mjs",
  sha256: SHA256,
  bytes: BUNDLE_BYTES.length,
  release: "1.2.3",
  app: APP,
};

/** Python's tomllib (3.11+), a real TOML 1.0 parser, when this machine has it. */
const PYTHON = spawnSync("python3", ["-c", "import tomllib"]).status === 0 ? "python3" : undefined;
const parseToml = (text: string): Manifest =>
  JSON.parse(
    execFileSync(
      PYTHON as string,
      ["-c", "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))"],
      { input: text },
    ).toString(),
  ) as Manifest;

/** The entries as the nested object a TOML parser makes of their dotted keys. */
function nested(entries: ReturnType<typeof gramineManifestEntries>): Manifest {
  const root: Manifest = {};
  for (const { key, value } of entries) {
    const parts = key.split(".");
    let table = root;
    for (const part of parts.slice(0, -1)) {
      table[part] ??= {};
      table = table[part] as Manifest;
    }
    table[parts.at(-1) as string] = value as Manifest[string];
  }
  return root;
}

describe("gramine-sgx: the manifest template", () => {
  const template = gramineManifestTemplate(gramineBundle);
  const manifest = nested(gramineManifestEntries(gramineBundle));
  const sgx = manifest.sgx as Manifest;
  const mounts = (manifest.fs as Manifest).mounts as { path: string; uri?: string; type?: string }[];

  test("deterministic: the same bundle gives the same bytes; another bundle changes the pinned hash", () => {
    assert.equal(gramineManifestTemplate({ ...gramineBundle }), template);
    const other = gramineManifestTemplate({ ...gramineBundle, sha256: "0".repeat(64) });
    assert.notEqual(other, template);
    assert.ok(!template.includes(process.cwd()), "no path of the build machine");
  });

  test("is TOML a real parser reads as the intended manifest", {
    skip: !PYTHON && "no python3 with tomllib",
  }, () => {
    assert.deepEqual(parseToml(template), manifest);
  });

  test("every key is one Gramine's manifest schema (manifest_check.py) accepts, and the checker can refuse", () => {
    assert.deepEqual(gramineSchemaProblems(manifest), []);
    const broken: Manifest = {
      ...manifest,
      loader: { ...(manifest.loader as Manifest), entrypoint: "file:libsysdb.so", insecure__anything: true },
      sgx: { ...sgx, remote_attestation: "epid" },
    };
    assert.deepEqual(gramineSchemaProblems(broken), [
      "loader.entrypoint is a table with uri (Gramine 1.8 and later)",
      "loader.insecure__anything is no manifest key",
      "sgx.remote_attestation is none or dcap, not epid",
    ]);
  });

  test("pins the bundle by its sha256 and runs it, with arguments and environment fixed in the manifest", () => {
    assert.ok(template.includes(`sha256 = "${SHA256}"`));
    assert.deepEqual(sgx.trusted_files && (sgx.trusted_files as unknown[]).at(-1), {
      uri: "file:enclave.mjs",
      sha256: SHA256,
    });
    const loader = manifest.loader as Manifest;
    assert.deepEqual(loader.argv, [
      GRAMINE_PATHS.node,
      GRAMINE_PATHS.bundle,
      "--data-dir",
      GRAMINE_PATHS.data,
    ]);
    assert.equal((manifest.libos as Manifest).entrypoint, GRAMINE_PATHS.node);
    assert.deepEqual(Object.keys(loader.env as Manifest), ["LD_LIBRARY_PATH"]);
    for (const insecure of ["insecure__use_cmdline_argv", "insecure__use_host_env"])
      assert.ok(!(insecure in loader));
    // What runs is mounted from a trusted file: Node and the bundle.
    const mounted = (path: string) => mounts.find((m) => m.path === path)?.uri;
    assert.equal(mounted(GRAMINE_PATHS.bundle), "file:enclave.mjs");
    assert.ok((sgx.trusted_files as unknown[]).includes(mounted(GRAMINE_PATHS.node)));
  });

  test("gives the adapter what it reads: DCAP quotes under /dev/attestation, a production enclave, an untrusted data dir", () => {
    assert.equal(sgx.remote_attestation, GRAMINE_REMOTE_ATTESTATION);
    assert.equal(sgx.debug, false);
    // /dev/attestation is Gramine's pseudo-file system: no mount may cover it.
    for (const { path } of mounts)
      assert.ok(!`${GRAMINE_ATTESTATION_DIR}/`.startsWith(`${path.replace(/\/$/, "")}/`), path);
    const data = mounts.find((m) => m.path === GRAMINE_PATHS.data);
    assert.equal(data?.type ?? "chroot", "chroot", "a plain host directory, not an encrypted mount");
    assert.deepEqual(sgx.allowed_files, [`${data?.uri}/`]);
    assert.ok(!(sgx.trusted_files as unknown[]).some((f) => JSON.stringify(f).includes(`${data?.uri}`)));
  });

  test("the writer refuses what it cannot write as TOML", () => {
    assert.throws(() => tomlDocument([], [{ key: "a b", value: 1 }]), /bare dotted TOML key/);
    assert.throws(() => tomlDocument([], [{ key: "a", value: "x\ny" }]), /no control character/);
    assert.throws(() => tomlDocument([], [{ key: "a", value: 1.5 }]), /TOML integer/);
  });
});

describe("tdx and sev-snp: the VM descriptions", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-deploy-vm-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("RTMR3 is SHA-384(48 zero bytes ‖ SHA-384(tag ‖ the bundle's SHA-256)), recomputed independently", () => {
    const sha384 = (...parts: Uint8Array[]) => {
      const hash = createHash("sha384");
      for (const part of parts) hash.update(part);
      return hash.digest();
    };
    const event = sha384(new TextEncoder().encode(RTMR3_EVENT_TAG), Buffer.from(SHA256, "hex"));
    const expected = {
      event: event.toString("hex"),
      rtmr3: sha384(new Uint8Array(RTMR_BYTES), event).toString("hex"),
    };
    assert.deepEqual(rtmr3ForBundle(SHA256), expected);
    assert.notDeepEqual(rtmr3ForBundle("0".repeat(64)), expected);
  });

  test("the printed shell recipe computes the same event from the bundle file", {
    skip: spawnSync("xxd", ["-v"]).error !== undefined && "no xxd",
  }, () => {
    writeFileSync(join(dir, "enclave.mjs"), BUNDLE_BYTES);
    const tdx = vmDeployment("tdx", vmBundle);
    const binding = tdx.bundleBinding.find((b) => b.name === "rtmr3");
    const out = execFileSync("bash", ["-c", binding?.eventFromBundle as string], { cwd: dir }).toString();
    assert.equal(out.split(" ")[0], binding?.event);
  });

  test("each names the bundle's hash and the verdict field allowed, deterministically", () => {
    for (const platform of ["tdx", "sev-snp"] as const) {
      const description = vmDeployment(platform, vmBundle);
      assert.deepEqual(vmDeployment(platform, { ...vmBundle }), description);
      assert.equal(description.bundle.sha256, SHA256);
      assert.equal(description.measurement.verdictField, "measurement");
      assert.match(JSON.stringify(description.notTested), /no (TDX|SEV-SNP) machine here/);
    }
    const tdx = vmDeployment("tdx", vmBundle);
    assert.equal(tdx.bundleBinding.find((b) => b.name === "rtmr3")?.rtmr3, rtmr3ForBundle(SHA256).rtmr3);
    assert.match(JSON.stringify(vmDeployment("sev-snp", vmBundle).bundleBinding), new RegExp(SHA256));
  });

  test("written beside the bundle, byte for byte the same from two builds of it; nothing for sim", () => {
    const written = (sub: string, platform: "tdx" | "sev-snp" | "gramine-sgx") => {
      const bundle: EnclaveBundle = {
        path: join(dir, sub, "enclave.mjs"),
        measurement: `0x${SHA256}`,
        signerMeasurement: `0x${"00".repeat(32)}`,
        bytes: BUNDLE_BYTES.length,
        release: "1.2.3",
        app: { ...APP, stateVersion: 1 } as EnclaveBundle["app"],
      };
      mkdirSync(join(dir, sub), { recursive: true });
      const { files } = writeDeployment(platform, bundle);
      return files.map((f) => [basename(f), readFileSync(f, "utf8")] as const);
    };
    for (const platform of ["tdx", "sev-snp", "gramine-sgx"] as const) {
      const first = written(`${platform}-a`, platform);
      assert.deepEqual(written(`${platform}-b`, platform), first, platform);
      const names = first.map(([name]) => name);
      assert.ok(
        names.includes("enclave.deployment.json") && names.includes("enclave.deployment.txt"),
        platform,
      );
      for (const [, text] of first) assert.ok(text.includes(SHA256), `${platform} names the bundle hash`);
      if (platform === "gramine-sgx") assert.ok(names.includes("enclave.manifest.template"));
    }
    assert.deepEqual(writeDeployment("sim", {} as EnclaveBundle), { files: [], allowList: [] });
  });
});
