// Enclave processes built for hardware platforms, each run from its measured bundle over a directory
// that plays the kernel (a test build: `emulatedRoot` is measured in, so it is never a deployment's).
// Gramine-SGX: the process knows itself by its quote's MRENCLAVE, hands out the quote Gramine made for
// the binding of its keys, and its identity survives a restart (Gramine seals). TDX without
// configfs-tsm: the process says which path is missing and which kernel it needs, and exits. And the
// operator's `node start --platform` is held to the bundle's platform before anything starts.
// (Run `npm run build` first: the CLI runs from dist/.)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, hexToBytes } from "viem";
import { vectorsSkip } from "../../src/attestation/dcap/test-vectors.js";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../../src/build/enclave-bundle.js";
import { REPORT_DATA_BYTES } from "../../src/enclave/platform.js";
import { GRAMINE_ATTESTATION_DIR } from "../../src/enclave/platforms/gramine-sgx-platform.js";
import { sgxQuoteFor } from "../../src/enclave/platforms/test-kernel.js";
import { startQuoteService } from "../../src/enclave/platforms/test-qgs.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { enclaveBinding } from "../../src/protocol/digests.js";
import { anonify } from "../operators/operator-net.js";

/** The MRENCLAVE of the shared real SGX quote (its notes). */
const MRENCLAVE = "0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const DOMAIN = { chainId: 31337, contract: `0x${"cd".repeat(20)}` as const };

describe("enclave processes on hardware adapters", { skip: vectorsSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-platform-adapters-"));
  const gramineRoot = join(dir, "gramine-root");
  const attestation = join(gramineRoot, GRAMINE_ATTESTATION_DIR);
  const bundles = { gramine: join(dir, "gramine/enclave.mjs"), tdx: join(dir, "tdx/enclave.mjs") };
  const running: EnclaveProcess[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    const test = { ...DEFAULT_ENCLAVE_CONFIG };
    await buildEnclaveBundle({
      outFile: bundles.gramine,
      config: { ...test, platform: "gramine-sgx", emulatedRoot: gramineRoot },
    });
    await buildEnclaveBundle({
      outFile: bundles.tdx,
      config: { ...test, platform: "tdx", emulatedRoot: join(dir, "a-vm-without-configfs-tsm") },
    });
  });

  const start = (bundle: string, onLog?: (line: string) => void) => {
    const process = EnclaveProcess.start({ dataDir: join(dir, "data"), bundle, ...(onLog ? { onLog } : {}) });
    running.push(process);
    return process;
  };

  test("gramine-sgx: it knows itself by its quote, quotes the binding of its keys, and keeps its identity across a restart", async (t) => {
    mkdirSync(join(attestation, "keys"), { recursive: true });
    writeFileSync(join(attestation, "attestation_type"), "dcap");
    writeFileSync(join(attestation, "user_report_data"), new Uint8Array(0));
    writeFileSync(join(attestation, "quote"), sgxQuoteFor(new Uint8Array(REPORT_DATA_BYTES)));
    writeFileSync(join(attestation, "keys", "_sgx_mrenclave"), randomBytes(16));
    writeFileSync(join(attestation, "keys", "_sgx_mrsigner"), randomBytes(16));
    // Gramine makes each quote for what the enclave wrote: in a test build, the quote service does.
    const qgs = await startQuoteService(gramineRoot, async (inblob) => ({ outblob: sgxQuoteFor(inblob) }));
    t.after(() => qgs.close());

    const first = start(bundles.gramine);
    const status = await first.call("status");
    assert.equal(status.platform, "sgx");
    assert.equal(status.measurement, MRENCLAVE, "its own MRENCLAVE, not its bundle's hash");
    const identity = await first.call("init", DOMAIN);
    assert.equal(identity.created, "first-start");
    const reportData = new Uint8Array(REPORT_DATA_BYTES);
    reportData.set(
      hexToBytes(enclaveBinding(DOMAIN, identity.address, identity.hpkePublicKey, status.app.id)),
    );
    const quote = await first.call("quote");
    assert.equal(quote.platform, "sgx");
    assert.equal(quote.evidence, bytesToHex(sgxQuoteFor(reportData)));
    assert.deepEqual(new Uint8Array(readFileSync(join(attestation, "user_report_data"))), reportData);
    await first.stop();

    // The next process reads its own quote first (report data zero), as Gramine would make it.
    const second = start(bundles.gramine);
    const again = await second.call("init", { ...DOMAIN, sealedIdentity: identity.sealedIdentity });
    assert.equal(again.created, undefined, "unsealed, not made anew");
    assert.equal(again.address, identity.address);
  });

  test("tdx without configfs-tsm: the process names the missing path and the kernel it needs, and exits", async () => {
    const lines: string[] = [];
    const process = start(bundles.tdx, (line) => lines.push(line));
    const exit = await process.whenExited;
    assert.match(exit, /code 2/);
    const said = lines.join("\n");
    assert.match(said, /TEST BUILD: tdx over the emulated tree/);
    assert.match(said, /cannot start on tdx: .*\/sys\/kernel\/config\/tsm\/report does not exist/);
    assert.match(said, /configfs-tsm needs Linux 6\.7 or later .*tdx_guest driver/);
  });

  test("node start --platform is held to the bundle's build before anything starts", async () => {
    const startOn = (platform: string, bundle: string) =>
      anonify(
        ...["node", "start", "--attestation", "http://127.0.0.1:9", "--key", join(dir, "no-such-key")],
        ...["--enclave", bundle, "--platform", platform],
      );
    const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;
    await assert.rejects(startOn("tdx", bundles.gramine), (e) =>
      /rejected \(wrong_platform\): --platform tdx: the enclave bundle .*gramine\/enclave\.mjs is built for gramine-sgx/.test(
        stderrOf(e),
      ),
    );
    await assert.rejects(startOn("sgx", bundles.gramine), (e) =>
      /rejected \(bad_platform\): --platform is one of sim, tdx, sev-snp, gramine-sgx, not "sgx"/.test(
        stderrOf(e),
      ),
    );
    // The platform it was built for passes the check: what fails next is Gramine's signed manifest,
    // which the launcher needs (src/host/gramine-launch.ts), still before the key is read.
    await assert.rejects(startOn("gramine-sgx", bundles.gramine), (e) =>
      /rejected \(gramine_manifest_missing\): .*gramine\/enclave\.manifest\.sgx does not exist/.test(
        stderrOf(e),
      ),
    );
  });
});
