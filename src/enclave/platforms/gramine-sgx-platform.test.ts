// The Gramine-SGX adapter over a directory that plays Gramine's /dev/attestation: the quote is the
// one Gramine made for the report data written, the enclave knows itself by its MRENCLAVE and
// MRSIGNER, and sealing keys come from the CPU's sealing keys through HKDF, so what one enclave
// process sealed the next one opens (and another CPU's, or another policy's, key does not).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bytesToHex } from "viem";
import { vectorsSkip } from "../../attestation/dcap/test-vectors.js";
import { SealingError, seal, unseal } from "../sealing.js";
import { GRAMINE_ATTESTATION_DIR, GramineSgxPlatform, SGX_QUOTE_MAX_BYTES } from "./gramine-sgx-platform.js";
import { PlatformError, type PlatformErrorCode } from "./platform-files.js";
import { sgxQuoteFor } from "./test-kernel.js";

/** What the real SGX quote of the shared vectors names (their notes). */
const MRENCLAVE = "0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const MRSIGNER = "0x815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6";

const roots: string[] = [];
after(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

/** Gramine's pseudo-files as a plain tree: its quote made for `quoteFor`, this CPU's sealing keys. */
async function gramineTree(
  quoteFor = new Uint8Array(64),
  keys = { mrenclave: randomBytes(16), mrsigner: randomBytes(16) },
) {
  const root = await mkdtemp(join(tmpdir(), "anonify-gramine-"));
  roots.push(root);
  const dir = join(root, GRAMINE_ATTESTATION_DIR);
  await mkdir(join(dir, "keys"), { recursive: true });
  await writeFile(join(dir, "attestation_type"), "dcap");
  await writeFile(join(dir, "user_report_data"), new Uint8Array(0));
  await writeFile(join(dir, "quote"), sgxQuoteFor(quoteFor));
  await writeFile(join(dir, "keys", "_sgx_mrenclave"), keys.mrenclave);
  await writeFile(join(dir, "keys", "_sgx_mrsigner"), keys.mrsigner);
  return { dir, keys, platform: () => new GramineSgxPlatform({ attestationDir: dir }) };
}

async function refused(promise: Promise<unknown>, code: PlatformErrorCode, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => assert.fail(`expected a refusal (${code})`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PlatformError, String(error));
  assert.equal(error.code, code, error.message);
  assert.match(error.message, message);
}

describe("the Gramine-SGX adapter", { skip: vectorsSkip }, () => {
  test("a quote: the report data written to user_report_data, the quote Gramine made for it read back", async () => {
    const reportData = new Uint8Array(64).fill(0x5a);
    const { dir, platform } = await gramineTree(reportData);
    const quote = await platform().quote(reportData);
    assert.deepEqual(quote, sgxQuoteFor(reportData));
    assert.deepEqual(new Uint8Array(await readFile(join(dir, "user_report_data"))), reportData);
  });

  test("a quote for other report data than written is refused (Gramine served a stale one)", async () => {
    const { platform } = await gramineTree(new Uint8Array(64));
    await refused(
      platform().quote(new Uint8Array(64).fill(1)),
      "bad_evidence",
      /quote for other report data/,
    );
  });

  test("the enclave knows itself by the MRENCLAVE and MRSIGNER its own quote names", async () => {
    const { platform } = await gramineTree();
    const own = await platform().ownIdentity();
    assert.equal(bytesToHex(own.measurement), MRENCLAVE);
    assert.equal(bytesToHex(own.signerMeasurement), MRSIGNER);
  });

  test("sealing outlives the process: the next process opens it; another CPU's key or policy does not", async () => {
    const tree = await gramineTree();
    const first = tree.platform();
    const identity = await first.ownIdentity();
    const secret = new Uint8Array([1, 2, 3, 4]);
    const blob = await seal(first, identity, secret, { label: "identity" });
    assert.deepEqual(await unseal(tree.platform(), identity, blob, { label: "identity" }), secret);
    // The same enclave on another CPU: other sealing keys.
    const elsewhere = await gramineTree();
    await assert.rejects(
      unseal(elsewhere.platform(), identity, blob, { label: "identity" }),
      (e: unknown) => e instanceof SealingError && e.code === "tampered",
    );
    // Each policy has its own key file: the MRSIGNER key is not the MRENCLAVE key.
    const bySigner = await seal(first, identity, secret, { label: "identity", policy: "signer" });
    assert.deepEqual(await unseal(tree.platform(), identity, bySigner, { label: "identity" }), secret);
    const swapped = await gramineTree(undefined, {
      mrenclave: tree.keys.mrsigner,
      mrsigner: tree.keys.mrenclave,
    });
    await assert.rejects(unseal(swapped.platform(), identity, bySigner, { label: "identity" }), SealingError);
    // Never the Gramine key itself: the key handed out is derived (Gramine's encrypted files may use it).
    const key = await first.sealingKey("measurement", identity);
    assert.equal(key.length, 32);
    assert.notDeepEqual(key.subarray(0, 16), new Uint8Array(tree.keys.mrenclave));
  });

  test("a sealing key file that is not 16 bytes is refused, naming it", async () => {
    const { dir, platform } = await gramineTree();
    await writeFile(join(dir, "keys", "_sgx_mrenclave"), randomBytes(15));
    const identity = await platform().ownIdentity();
    await refused(
      platform().sealingKey("measurement", identity),
      "bad_evidence",
      /keys\/_sgx_mrenclave holds 15 bytes, not an SGX sealing key \(16\)/,
    );
  });

  test("a missing interface names the path and what runs it", async () => {
    const root = await mkdtemp(join(tmpdir(), "anonify-gramine-absent-"));
    roots.push(root);
    const dir = join(root, GRAMINE_ATTESTATION_DIR);
    const absent = new GramineSgxPlatform({ attestationDir: dir });
    await refused(
      absent.ownIdentity(),
      "missing",
      new RegExp(`${dir}/attestation_type does not exist: run the enclave under gramine-sgx .*Gramine 1\\.5`),
    );
    const identity = { measurement: new Uint8Array(32), signerMeasurement: new Uint8Array(32) };
    await refused(absent.sealingKey("signer", identity), "missing", /keys\/_sgx_mrsigner does not exist/);
  });

  test("attestation other than DCAP, and a quote over Gramine's bound, are refused", async () => {
    const none = await gramineTree();
    await writeFile(join(none.dir, "attestation_type"), "none");
    await refused(none.platform().quote(new Uint8Array(64)), "missing", /says "none", not "dcap"/);
    const large = await gramineTree();
    await writeFile(join(large.dir, "quote"), new Uint8Array(SGX_QUOTE_MAX_BYTES + 1));
    await refused(
      large.platform().quote(new Uint8Array(64)),
      "too_large",
      /quote holds more than 8192 bytes/,
    );
  });
});
