// configfs-tsm against a directory that plays the kernel: the exchange, a concurrent writer moving
// `generation`, a wrong provider, a missing interface, an `outblob` over the kernel's bound.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { vectorsSkip } from "../../attestation/dcap/test-vectors.js";
import { TSM_INBLOB_BYTES, TSM_OUTBLOB_MAX_BYTES, TSM_REPORT_DIR, TsmReports } from "./configfs-tsm.js";
import { PlatformError, type PlatformErrorCode } from "./platform-files.js";
import { EmulatedTsm, tdxQuoteFor } from "./test-kernel.js";

const roots: string[] = [];
after(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
const tempRoot = async () => {
  const root = await mkdtemp(join(tmpdir(), "anonify-tsm-"));
  roots.push(root);
  return root;
};

const INBLOB = new Uint8Array(TSM_INBLOB_BYTES).map((_, i) => i + 1);

const tdxKernel = async (
  options: { interfere?: number; provider?: string; answer?: typeof tdxQuoteFor } = {},
) =>
  EmulatedTsm.boot({
    root: await tempRoot(),
    provider: options.provider ?? "tdx_guest",
    answer: options.answer ?? tdxQuoteFor,
    ...(options.interfere === undefined ? {} : { interfere: options.interfere }),
  });

const tdxReports = (kernel: EmulatedTsm) =>
  new TsmReports({ platform: "tdx", reportDir: kernel.reportDir, files: kernel });

async function refused(promise: Promise<unknown>, code: PlatformErrorCode): Promise<PlatformError> {
  const error = await promise.then(
    () => assert.fail(`expected a refusal (${code})`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PlatformError, String(error));
  assert.equal(error.code, code, error.message);
  return error;
}

const leftIn = async (kernel: EmulatedTsm) => readdir(kernel.reportDir);

describe("configfs-tsm", { skip: vectorsSkip }, () => {
  test("a good exchange: one fresh entry, our 64 bytes in, the provider's outblob out, the entry removed", async () => {
    const kernel = await tdxKernel();
    const { outblob, auxblob } = await tdxReports(kernel).request(INBLOB);
    assert.deepEqual(outblob, tdxQuoteFor(INBLOB));
    assert.equal(auxblob, undefined, "TDX has no auxblob");
    assert.deepEqual(kernel.answered, [INBLOB]);
    assert.equal(kernel.entries.length, 1);
    assert.match(kernel.entries[0]!, /\/anonify-[0-9a-f]{24}$/);
    assert.deepEqual(await leftIn(kernel), []);
    // One entry per request: a second request never reuses the first's.
    await tdxReports(kernel).request(INBLOB);
    assert.equal(new Set(kernel.entries).size, 2);
  });

  test("generation moving under a concurrent writer: that report is dropped and the request retried in a fresh entry", async () => {
    const kernel = await tdxKernel({ interfere: 1 });
    const { outblob } = await tdxReports(kernel).request(INBLOB);
    // The first entry's outblob was made for the other writer's inblob; the one returned is ours.
    assert.notDeepEqual(kernel.answered[0], INBLOB);
    assert.deepEqual(outblob, tdxQuoteFor(INBLOB));
    assert.equal(kernel.entries.length, 2);
    assert.deepEqual(await leftIn(kernel), []);
  });

  test("a writer that never stops: refused, naming the generations, after three fresh entries", async () => {
    const kernel = await tdxKernel({ interfere: Number.POSITIVE_INFINITY });
    const error = await refused(tdxReports(kernel).request(INBLOB), "concurrent_writer");
    assert.match(error.message, /generation 0 became 2, not 1/);
    assert.equal(kernel.entries.length, 3);
    assert.deepEqual(await leftIn(kernel), []);
  });

  test("a provider other than the platform's is refused by name", async () => {
    const kernel = await tdxKernel({ provider: "sev_guest" });
    const error = await refused(tdxReports(kernel).request(INBLOB), "wrong_provider");
    assert.match(
      error.message,
      /says "sev_guest": this enclave is built for tdx, whose provider is tdx_guest/,
    );
    assert.deepEqual(kernel.answered, [], "nothing was asked of the wrong driver");
    assert.deepEqual(await leftIn(kernel), []);
    const sev = new TsmReports({ platform: "sev-snp", reportDir: kernel.reportDir, files: kernel });
    assert.ok(
      (await sev.request(INBLOB)).outblob.length > 0,
      "the same tree serves a build for its own provider",
    );
  });

  test("a missing interface names the path and the kernel it needs", async () => {
    const root = await tempRoot();
    const reportDir = join(root, TSM_REPORT_DIR);
    const absent = await refused(new TsmReports({ platform: "tdx", reportDir }).request(INBLOB), "missing");
    assert.ok(absent.message.includes(`${reportDir} does not exist`), absent.message);
    assert.match(absent.message, /Linux 6\.7 or later/);
    assert.match(absent.message, /tdx_guest driver/);
    // A directory there that is not configfs: entries get no attributes.
    await mkdir(reportDir, { recursive: true });
    const plain = await refused(
      new TsmReports({ platform: "sev-snp", reportDir }).request(INBLOB),
      "missing",
    );
    assert.match(
      plain.message,
      /provider does not exist: .* is not a configfs-tsm report directory \(Linux 6\.7/,
    );
    assert.deepEqual(await readdir(reportDir), [], "the entry it made is removed");
  });

  test("an outblob over the kernel's 32 KiB bound is refused, one at the bound is not", async () => {
    const oversized = await tdxKernel({ answer: () => new Uint8Array(TSM_OUTBLOB_MAX_BYTES + 1).fill(1) });
    const error = await refused(tdxReports(oversized).request(INBLOB), "too_large");
    assert.match(error.message, /outblob holds more than 32768 bytes/);
    assert.deepEqual(await leftIn(oversized), []);
    const full = await tdxKernel({ answer: () => new Uint8Array(TSM_OUTBLOB_MAX_BYTES).fill(1) });
    assert.equal((await tdxReports(full).request(INBLOB)).outblob.length, TSM_OUTBLOB_MAX_BYTES);
  });

  test("an empty outblob is refused; so is an inblob that is not 64 bytes", async () => {
    const empty = await tdxKernel({ answer: () => new Uint8Array(0) });
    await refused(tdxReports(empty).request(INBLOB), "bad_evidence");
    for (const length of [0, 32, 65])
      await assert.rejects(tdxReports(empty).request(new Uint8Array(length)), TypeError);
  });
});
