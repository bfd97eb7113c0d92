// `anonify attest verify REPORT --format sev-snp --certs CHAIN.pem [--crl FILE] [--at ISO] [--json]`
// on real reports (test/fixtures/sev-snp): the verdict as the other formats give it, with the TCB; a
// tampered report, another product's chain, a time outside the VCEK's validity and misused flags
// exit non-zero with the reason. `--crl` on the test PKI (no real AMD CRL is in the public samples).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { Offset } from "../../src/attestation/sev-snp/report.js";
import {
  derToPem,
  FIXTURES_DIR,
  fixtureBytes,
  sampleNamed,
} from "../../src/attestation/sev-snp/test-fixtures.js";
import { makeSevSnpTestCrl, makeSevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import { makeSevSnpReport, sevSnpCertTable } from "../../src/attestation/sev-snp/test-report.js";
import { sevSnpEvidence } from "../../src/attestation/sev-snp.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");

async function anonify(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("anonify attest verify --format sev-snp", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-sev-snp-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const turin = sampleNamed("turin-v5-vcek.bin");
  const report = join(FIXTURES_DIR, turin.report);
  const chain = join(FIXTURES_DIR, "turin-v5-vcek-chain.pem");
  const at = turin.now.toISOString();
  const verify = (file: string, certs: string, ...extra: string[]) =>
    anonify("attest", "verify", file, "--format", "sev-snp", "--certs", certs, ...extra);

  test("a Turin report with its VCEK chain: the verdict in JSON, and as text with the TCB", async () => {
    const json = await verify(report, chain, "--at", at, "--json");
    assert.equal(json.code, 0, json.stderr);
    const { ok, verdict } = JSON.parse(json.stdout) as {
      ok: boolean;
      verdict: { platform: string; measurement: string; debug: boolean; tcb: unknown; tcbStatus: string };
    };
    assert.equal(ok, true);
    assert.equal(verdict.platform, "sev-snp");
    assert.equal(verdict.measurement, turin.measurement);
    assert.equal(verdict.debug, false);
    assert.deepEqual(verdict.tcb, turin.tcb);

    const text = await verify(report, chain, "--at", at, "--policy", "production");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /valid sev-snp evidence/);
    assert.match(text.stdout, new RegExp(`measurement {9}${turin.measurement}\\n`));
    assert.match(text.stdout, /TCB {17}bootloader 1, tee 0, snp 2, microcode 71, fmc 0\n/);
  });

  test("the VLEK sample with its ASVK chain; the debug sample is refused by the production policy", async () => {
    const vlek = sampleNamed("milan-v3-vlek.bin");
    const vlekChain = join(dir, "vlek-chain.pem");
    writeFileSync(vlekChain, vlek.chain());
    const ok = await verify(join(FIXTURES_DIR, vlek.report), vlekChain, "--at", vlek.now.toISOString());
    assert.equal(ok.code, 0, ok.stderr);
    // Today the AWS VLEK (2024-12-10 .. 2025-12-10) has expired.
    const today = await verify(join(FIXTURES_DIR, vlek.report), vlekChain, "--json");
    assert.notEqual(today.code, 0);
    assert.match(JSON.parse(today.stdout).reason, /VLEK: certificate expired/);

    const debug = sampleNamed("milan-v2-vcek-debug.bin");
    const debugChain = join(dir, "debug-chain.pem");
    writeFileSync(debugChain, debug.chain());
    const args = ["--at", debug.now.toISOString(), "--policy", "production"];
    const refused = await verify(join(FIXTURES_DIR, debug.report), debugChain, ...args);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /policy_rejected.*debug enclaves are not accepted/);
  });

  test("a flipped report byte, another product's chain, a time before the VCEK: exit non-zero with the reason", async () => {
    const flipped = readFileSync(report);
    flipped[Offset.measurement] = flipped[Offset.measurement]! ^ 1;
    writeFileSync(join(dir, "flipped.bin"), flipped);
    const bad = await verify(join(dir, "flipped.bin"), chain, "--at", at);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /verification_failed.*signature invalid/);

    const genoaChain = join(FIXTURES_DIR, "genoa-v5-vcek-chain.pem");
    const other = await verify(report, genoaChain, "--at", at, "--json");
    assert.notEqual(other.code, 0);
    assert.match(JSON.parse(other.stdout).reason, /the report is from Turin but the chain is Genoa's/);

    const early = await verify(report, chain, "--at", "2025-07-01T00:00:00Z");
    assert.notEqual(early.code, 0);
    assert.match(early.stderr, /VCEK: certificate not yet valid/);
  });

  test("--crl (DER, as AMD's KDS serves it): checked against the chain; without it the verdict warns", async () => {
    const pki = await makeSevSnpTestPki({ name: "CLI Test" });
    const evidence = join(dir, "test-pki.bin");
    const measurement = new Uint8Array(48).fill(0x11);
    writeFileSync(
      evidence,
      sevSnpEvidence(await makeSevSnpReport(pki, new Uint8Array(64), { measurement }), sevSnpCertTable(pki)),
    );
    const root = join(dir, "test-ark.pem");
    writeFileSync(root, pki.arkPem);
    const [good, revoking] = [join(dir, "good.crl"), join(dir, "revoking.crl")];
    writeFileSync(good, await makeSevSnpTestCrl(pki));
    writeFileSync(revoking, await makeSevSnpTestCrl(pki, { revoked: [pki.ask] }));
    const check = (...extra: string[]) =>
      anonify("attest", "verify", evidence, "--format", "sev-snp", "--root", root, ...extra);

    const unchecked = await check();
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /VMPL {16}0\n/);
    assert.match(unchecked.stdout, /warning: no AMD CRL was given/);
    const checked = await check("--crl", good, "--json");
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal(JSON.parse(checked.stdout).verdict.warnings, undefined);
    const revoked = await check("--crl", revoking);
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /verification_failed.*SEV-Genoa: certificate revoked/);
  });

  test("--certs only for sev-snp, not with --collateral; a report without certificates names --certs", async () => {
    const sgx = await anonify("attest", "verify", report, "--format", "sgx", "--certs", chain);
    assert.notEqual(sgx.code, 0);
    assert.match(sgx.stderr, /--certs and --crl are for --format sev-snp/);
    const both = await verify(report, chain, "--collateral", chain);
    assert.match(both.stderr, /give one/);
    const none = await anonify("attest", "verify", report, "--format", "sev-snp", "--at", at);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no certificates.*--certs/);
    // The DER VCEK alone, as KDS serves it, is not enough: its ASK must come too.
    writeFileSync(join(dir, "vcek-only.pem"), derToPem(fixtureBytes("milan-v2-vcek.der")));
    const short = await verify(report, join(dir, "vcek-only.pem"), "--at", at);
    assert.match(short.stderr, /holds 1 certificate; expected the VCEK or VLEK/);
  });
});
