import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { VECTORS_DIR, vectorsSkip } from "../../src/attestation/dcap/test-vectors.js";
import {
  DEVELOPMENT_POLICY,
  enforcePolicy,
  PolicyRejection,
  PRODUCTION_POLICY,
} from "../../src/attestation/policy.js";
import { verifySimQuote } from "../../src/attestation/sim.js";
import { SimPlatform } from "../../src/enclave/sim-platform.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
const SGX = join(VECTORS_DIR, "sgx-dcap/sgx_quote");
const SGX_COLLATERAL = join(VECTORS_DIR, "sgx-dcap/sgx_quote_collateral.json");
const IN_WINDOW = "2025-07-01T00:00:00Z";

async function anonify(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `anonify attest verify` of an SGX quote with the real collateral, as of `at`. */
const verifySgx = (quote: string, at: string, ...extra: string[]) =>
  anonify("attest", "verify", quote, "--format", "sgx", "--collateral", SGX_COLLATERAL, "--at", at, ...extra);

describe("anonify attest verify", { skip: vectorsSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-attest-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("exits 0 and prints the verdict of the real SGX quote", async () => {
    const r = await verifySgx(SGX, IN_WINDOW, "--json");
    assert.equal(r.code, 0, r.stderr);
    const { verdict } = JSON.parse(r.stdout) as {
      verdict: { tcbStatus: string; advisoryIds: string[]; measurement: string };
    };
    assert.equal(verdict.tcbStatus, "ConfigurationAndSWHardeningNeeded");
    assert.deepEqual(verdict.advisoryIds, ["INTEL-SA-00289", "INTEL-SA-00615"]);
    assert.equal(verdict.measurement, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
  });

  test("exits non-zero with the reason: outside the collateral window, a flipped byte, a policy requiring UpToDate", async () => {
    const late = await verifySgx(SGX, "2026-01-01T00:00:00Z");
    assert.notEqual(late.code, 0);
    assert.match(late.stderr, /verification_failed/);

    const flipped = readFileSync(SGX);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    writeFileSync(join(dir, "flipped"), flipped);
    const bad = await verifySgx(join(dir, "flipped"), IN_WINDOW);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /verification_failed/);

    const strict = await verifySgx(SGX, IN_WINDOW, "--policy", "production");
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /TCB status ConfigurationAndSWHardeningNeeded .* not accepted/);
  });

  test("prints the TDX measurement, how it is made, and its components", async () => {
    const r = await anonify(
      "attest",
      "verify",
      join(VECTORS_DIR, "sgx-dcap/tdx_quote"),
      "--format",
      "tdx",
      "--collateral",
      join(VECTORS_DIR, "sgx-dcap/tdx_quote_collateral.json"),
      "--at",
      IN_WINDOW,
    );
    assert.equal(r.code, 0, r.stderr);
    // The value to allow-list: the combined measurement (dcap/tdx-measurement.test.ts derives it).
    assert.match(
      r.stdout,
      /measurement {9}d6a4eb704e09e162ff9bfef831b58bb56c48b0da19cd16788130a68037351ef4\n/,
    );
    assert.match(
      r.stdout,
      /= SHA-256\("anonify\/tdx-measurement\/v1" \|\| mrtd \|\| rtmr0 \|\| rtmr1 \|\| rtmr2 \|\| rtmr3 \|\| mrconfigid \|\| mrowner \|\| mrownerconfig\)/,
    );
    assert.match(
      r.stdout,
      /mrtd {16}91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7/,
    );
    assert.match(r.stdout, /rtmr3 {15}0{96}/);
  });

  test("the self-signed Nitro document fails against the AWS root", async () => {
    const r = await anonify(
      "attest",
      "verify",
      join(VECTORS_DIR, "nitro/selfsigned_attestation.b64"),
      "--format",
      "nitro",
      "--at",
      "2024-04-17T18:51:46Z",
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pinned root/);
  });
});

describe("attestation policy", () => {
  test("a no-debug policy rejects debug evidence; the production policy rejects the simulated platform", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anonify-policy-"));
    try {
      const platform = new SimPlatform(dir);
      const identity = {
        measurement: new Uint8Array(32).fill(1),
        signerMeasurement: new Uint8Array(32).fill(2),
      };
      const now = new Date();
      const verdict = await verifySimQuote(await platform.quote(new Uint8Array(64), identity), { now });
      enforcePolicy(DEVELOPMENT_POLICY, verdict, now);
      assert.throws(
        () => enforcePolicy({ ...DEVELOPMENT_POLICY, debugAllowed: false }, verdict, now),
        (e: unknown) => e instanceof PolicyRejection && /debug/.test(e.reason),
      );
      assert.throws(
        () => enforcePolicy(PRODUCTION_POLICY, verdict, now),
        (e: unknown) => e instanceof PolicyRejection && /platform sim/.test(e.reason),
      );
      const later = new Date(now.getTime() + 2 * DEVELOPMENT_POLICY.maxEvidenceAgeSeconds * 1000);
      assert.throws(
        () => enforcePolicy(DEVELOPMENT_POLICY, verdict, later),
        (e: unknown) => e instanceof PolicyRejection && /old/.test(e.reason),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
