// The enclave started as Gramine expects (`gramine-sgx NAME` in the signed manifest's directory), on a
// machine without Gramine or SGX: a TEST STAND-IN launcher (test/support/emulated-gramine.ts, NOT
// Gramine) reads the manifest `anonify enclave build --platform gramine-sgx` wrote (rendered and
// signed by the test as gramine-manifest and gramine-sgx-sign would), checks what we rely on Gramine
// checking, and runs the bundle on Node with its stdio passed through. The test build's adapter reads
// the emulated /dev/attestation the stand-in made, its quotes from the test's quote service. What is
// shown: the frames cross a Gramine-style launcher; the operator's mistakes are refused by name before
// anything starts; a bundle or Node changed after signing is refused by the launcher, as Gramine
// refuses it, and the host says why. Real Gramine and real SGX were not run here.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex } from "viem";
import { parseQuote } from "../../src/attestation/dcap/quote.js";
import { vectorsSkip } from "../../src/attestation/dcap/test-vectors.js";
import { writeDeployment } from "../../src/build/deployment.js";
import {
  buildEnclaveBundle,
  DEFAULT_ENCLAVE_CONFIG,
  type EnclaveBundle,
} from "../../src/build/enclave-bundle.js";
import { sgxQuoteFor } from "../../src/enclave/platforms/test-kernel.js";
import { type QuoteService, startQuoteService } from "../../src/enclave/platforms/test-qgs.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { GramineLaunchError, prepareGramineLaunch } from "../../src/host/gramine-launch.js";
import { placeNode, signEmulated, writeStandIn } from "../support/emulated-gramine.js";

const NAME = "enclave";
const ZERO_REPORT_DATA = new Uint8Array(64);

describe("a node's enclave under a Gramine-style launcher (a test stand-in, not Gramine)", {
  skip: vectorsSkip,
}, () => {
  let root: string;
  let deployment: string;
  let bundle: EnclaveBundle;
  let standIn: string;
  let qgs: QuoteService;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "anonify-gramine-"));
    const tree = join(root, "tree");
    deployment = join(root, "deploy");
    // A test build: the production profile, the gramine-sgx adapter over the emulated tree.
    bundle = await buildEnclaveBundle({
      outFile: join(deployment, `${NAME}.mjs`),
      config: {
        ...DEFAULT_ENCLAVE_CONFIG,
        platform: "gramine-sgx",
        profile: "production",
        emulatedRoot: tree,
      },
    });
    writeDeployment("gramine-sgx", bundle);
    placeNode(deployment);
    signEmulated(deployment, NAME);
    standIn = writeStandIn(join(root, "bin"), tree);
    // The shared real SGX quote, made for the report data asked: its signature no longer verifies, so
    // it shows the exchange, not attestation (emulated-gramine-network.test.ts judges real ones).
    qgs = await startQuoteService(tree, async (inblob) => ({ outblob: sgxQuoteFor(inblob) }));
  });

  after(async () => {
    await qgs?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A copy of the deployment directory, for a test that changes something in it. */
  const copy = (sub: string) => {
    const dir = join(root, sub);
    cpSync(deployment, dir, { recursive: true });
    return dir;
  };
  const enclaveUnder = (dir: string, command = standIn) =>
    EnclaveProcess.start({
      dataDir: join(root, "unused"),
      launcher: { command, args: [NAME], cwd: dir, sayLastLine: true },
    });

  test("the enclave runs under the launcher: gramine-sgx NAME in the manifest's directory, frames over its stdio", async () => {
    const launch = prepareGramineLaunch({ dir: deployment, command: standIn, bundle: bundle.path });
    assert.deepEqual(launch, {
      command: standIn,
      args: [NAME],
      cwd: deployment,
      bundleSha256: bundle.measurement.slice(2),
    });
    const enclave = EnclaveProcess.start({ dataDir: join(root, "unused"), launcher: launch });
    try {
      const status = await enclave.call("status");
      assert.equal(status.platform, "sgx");
      // It knows itself by its own quote (the quote service's, for the report data it wrote).
      const own = parseQuote(sgxQuoteFor(ZERO_REPORT_DATA)).body;
      assert.ok(own.kind === "sgx");
      assert.equal(status.measurement, bytesToHex(own.mrEnclave));
      assert.ok(qgs.answered.length >= 1, "the enclave asked for its own quote through /dev/attestation");
    } finally {
      await enclave.stop();
    }
  });

  test("attack: a bundle changed after signing is refused by the launcher, as Gramine refuses it, and the host says so", async () => {
    const dir = copy("tampered-bundle");
    writeFileSync(join(dir, `${NAME}.mjs`), `${bundle.path} replaced: process.stdout.write("forged");\n`);
    // The host may skip every check of its own: the launcher refuses the trusted file.
    const enclave = enclaveUnder(dir);
    await assert.rejects(
      enclave.call("status"),
      /enclave process exited \(code 1, signal null\): emulated-gramine-sgx: error: trusted file file:enclave\.mjs has SHA-256 [0-9a-f]{64}, not the manifest's [0-9a-f]{64}: refused/,
    );
    // The operator's check names it before anything starts.
    assert.throws(
      () => prepareGramineLaunch({ dir, command: standIn }),
      (e) =>
        e instanceof GramineLaunchError &&
        e.code === "gramine_bundle_mismatch" &&
        /enclave\.mjs has SHA-256 [0-9a-f]{64}, but the signed manifest pins [0-9a-f]{64}: Gramine refuses/.test(
          e.message,
        ),
    );
  });

  test("attack: Node changed after signing is refused by the launcher (no check of the host's sees it)", async () => {
    const dir = copy("tampered-node");
    writeFileSync(join(dir, "node"), '#!/bin/sh\necho "a Node of the host\'s" >&2\n');
    prepareGramineLaunch({ dir, command: standIn }); // the bundle is the signed one: the host's check passes
    await assert.rejects(
      enclaveUnder(dir).call("status"),
      /emulated-gramine-sgx: error: trusted file file:node has SHA-256 [0-9a-f]{64}, not the manifest's/,
    );
  });

  test("the operator's mistakes are refused by name before anything starts", () => {
    const refused = (options: Parameters<typeof prepareGramineLaunch>[0], code: string, message: RegExp) =>
      assert.throws(
        () => prepareGramineLaunch(options),
        (e) => e instanceof GramineLaunchError && e.code === code && message.test(e.message),
      );
    const unsigned = copy("unsigned");
    rmSync(join(unsigned, `${NAME}.manifest.sgx`));
    refused(
      { dir: unsigned, command: standIn, bundle: join(unsigned, `${NAME}.mjs`) },
      "gramine_manifest_missing",
      /enclave\.manifest\.sgx does not exist: in .*, run gramine-manifest enclave\.manifest\.template enclave\.manifest then gramine-sgx-sign --manifest enclave\.manifest --output enclave\.manifest\.sgx/,
    );
    refused(
      { dir: unsigned, command: standIn },
      "gramine_manifest_missing",
      /holds no signed manifest \(NAME\.manifest\.sgx\)/,
    );
    const noSignature = copy("no-signature");
    rmSync(join(noSignature, `${NAME}.sig`));
    refused(
      { dir: noSignature, command: standIn },
      "gramine_signature_missing",
      /enclave\.sig does not exist: gramine-sgx-sign writes it/,
    );
    refused(
      { dir: deployment, path: join(root, "bin-empty") },
      "gramine_not_found",
      /--gramine-command gramine-sgx: not found on PATH \(install Gramine 1\.8 or later.*gramine-direct/,
    );
    refused(
      { dir: deployment, command: join(root, "nosuch") },
      "gramine_not_found",
      /not an executable file/,
    );
    // The node was told to run another bundle than the one the manifest was signed for.
    const other = join(root, "other", `${NAME}.mjs`);
    mkdirSync(join(root, "other"));
    cpSync(bundle.path, other);
    writeFileSync(other, "\n// another build\n", { flag: "a" });
    refused(
      { dir: deployment, command: standIn, bundle: other },
      "gramine_bundle_mismatch",
      /--enclave .*other\/enclave\.mjs \(SHA-256 [0-9a-f]{64}\) is not the bundle the signed manifest .* runs/,
    );
    // A manifest whose trusted files were never hashed (rendered, not signed) pins nothing.
    const template = copy("rendered-only");
    const rendered = readFileSync(join(template, `${NAME}.manifest`), "utf8");
    const unpinned = rendered.replace(
      /\{ uri = "file:enclave\.mjs", sha256 = "[0-9a-f]{64}" \}/,
      '"file:enclave.mjs"',
    );
    assert.notEqual(unpinned, rendered);
    writeFileSync(join(template, `${NAME}.manifest.sgx`), unpinned);
    refused(
      { dir: template, command: standIn },
      "gramine_manifest_invalid",
      /sgx\.trusted_files pins no SHA-256 for file:enclave\.mjs/,
    );
  });
});
