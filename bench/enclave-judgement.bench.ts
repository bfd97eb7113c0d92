// What a client pays to judge an enclave before it encrypts to it (src/client/enclave-evidence.ts):
// the first judgement verifies the evidence to the pinned roots (certificates, CRLs, collateral,
// signatures: each checked the first time, then known to src/attestation/dcap/ecdsa.ts); the same evidence and collateral again reuse the verdict (VerdictCache: hashing both
// for the key, then the binding and the policy); a client that judged the enclave within a minute
// reuses its judgement (TrustedEnclaves). Real SGX, TDX and Nitro evidence from ../shared/vectors;
// the simulated platform's from SimPlatform.
//   node --import tsx bench/enclave-judgement.bench.ts     (markdown on stdout, no files)
//   npm run bench -- enclave-judgement                    (writes enclave-judgement.json + .md)
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { type Address, bytesToHex, type Hex, hexToBytes, padHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  readVectorBase64,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../src/attestation/dcap/test-vectors.js";
import type { PlatformName } from "../src/attestation/verdict.js";
import {
  type EvidenceSource,
  judgeEnclave,
  type Registration,
  TrustedEnclaves,
} from "../src/client/enclave-evidence.js";
import { ENCLAVE_POLICIES } from "../src/client/enclave-policy.js";
import { AnonifyClientError } from "../src/client/errors.js";
import { verifierFor } from "../src/client/verifiers.js";
import { SimPlatform } from "../src/enclave/sim-platform.js";
import { enclaveBinding, type LedgerDomain } from "../src/protocol/digests.js";

const DOMAIN: LedgerDomain = { chainId: 1, contract: "0x00000000000000000000000000000000000a0a0a" };
const APP = padHex("0xa1", { size: 32 });
const HPKE_KEY = padHex("0x04", { size: 65 });
/** Inside every validity window of the DCAP vectors' collateral, and of the Nitro document's leaf. */
const DCAP_NOW = new Date("2025-07-01T00:00:00Z");
const NITRO_NOW = new Date("2024-09-07T14:37:39.545Z");
const ROUNDS = 5;
const FIRST_COUNT = 20;
const CACHED_COUNT = 200;
const HELD_COUNT = 20_000;
const SIM_IDENTITY = {
  measurement: new Uint8Array(32).fill(7),
  signerMeasurement: new Uint8Array(32).fill(9),
};

type Row = { platform: string; check: string; msPerCheck: number; note: string };
type Case = { platform: PlatformName; evidence: Uint8Array; collateral?: unknown; now: Date; note: string };

/** Median milliseconds per call over ROUNDS rounds of `count` calls, after a warm-up round. */
async function measure(count: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(count, 5); i++) await op();
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < count; i++) await op();
    times.push((performance.now() - start) / count);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

/** A judgement's outcome is not what is measured: real vectors bind other programs' data. */
const settled = (judging: Promise<unknown>) =>
  judging.catch((error: unknown) => {
    if (!(error instanceof AnonifyClientError)) throw error;
  });

async function simCase(dir: string): Promise<{ case: Case; address: Address }> {
  const address = privateKeyToAccount(generatePrivateKey()).address;
  const binding = enclaveBinding(DOMAIN, address, HPKE_KEY, APP);
  const evidence = await new SimPlatform(dir).quote(
    hexToBytes(padHex(binding, { size: 64, dir: "right" })),
    SIM_IDENTITY,
  );
  return { case: { platform: "sim", evidence, now: new Date(), note: "accepted (development)" }, address };
}

async function bench(): Promise<{ rows: Row[]; machine: Machine }> {
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), "anonify-judgement-bench-"));
  const rows: Row[] = [];
  try {
    const sim = await simCase(dir);
    const cases: { case: Case; address: Address }[] = [sim];
    if (!vectorsSkip)
      for (const platform of ["sgx", "tdx"] as const)
        cases.push({
          case: {
            platform,
            evidence: readVectorBytes(`sgx-dcap/${platform}_quote`),
            collateral: readVectorJson(`sgx-dcap/${platform}_quote_collateral.json`),
            now: DCAP_NOW,
            note: "refused at the binding, after verifying",
          },
          address: privateKeyToAccount(generatePrivateKey()).address,
        });
    if (!vectorsSkip)
      cases.push({
        case: {
          platform: "nitro",
          evidence: readVectorBase64("nitro/nitro_attestation.b64"),
          now: NITRO_NOW,
          note: "refused at the binding, after verifying",
        },
        address: privateKeyToAccount(generatePrivateKey()).address,
      });
    for (const { case: c, address } of cases) {
      const registration: Registration = {
        address,
        platform: c.platform,
        hpkePublicKey: HPKE_KEY,
        app: APP,
        evidence: bytesToHex(c.evidence) as Hex,
      };
      const source: EvidenceSource = {
        isActive: async () => true,
        registration: async () => registration,
        collateral: async () => c.collateral,
      };
      const verify = await verifierFor(c.platform);
      const verifyOnce = () => verify(c.evidence, { now: c.now, collateral: c.collateral });
      // The process's first sight of this evidence: every signature checked (ecdsa.ts then knows them).
      const start = performance.now();
      await verifyOnce();
      rows.push({
        platform: c.platform,
        check: "first in the process: load, warm up, check every signature (one call)",
        msPerCheck: performance.now() - start,
        note: c.note,
      });
      const again = await measure(FIRST_COUNT, verifyOnce);
      rows.push({
        platform: c.platform,
        check: "verify again, signatures known",
        msPerCheck: again,
        note: c.note,
      });
      const policy = ENCLAVE_POLICIES.development;
      const cached = await measure(CACHED_COUNT, () =>
        settled(judgeEnclave(source, DOMAIN, address, policy, { now: c.now })),
      );
      rows.push({
        platform: c.platform,
        check: "same evidence: cached verdict",
        msPerCheck: cached,
        note: c.note,
      });
      const trusted = new TrustedEnclaves(source, DOMAIN, policy, () => c.now);
      const held = await measure(HELD_COUNT, () => settled(trusted.judge(address)));
      rows.push({ platform: c.platform, check: "judged within the minute", msPerCheck: held, note: c.note });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, machine: { cpus: cpus().length, loadBefore, loadAfter: loadavg()[0]! } };
}

/** The machine's state during the run: shared runners make these timings noisy, so say how busy it was. */
type Machine = { cpus: number; loadBefore: number; loadAfter: number };

function markdown(rows: Row[], machine: Machine): string {
  return [
    "# A client's judgement of an enclave: first and cached",
    "",
    `Measured by \`node --import tsx bench/enclave-judgement.bench.ts\` on Node ${process.versions.node}; one ` +
      `thread, median of ${ROUNDS} rounds after a warm-up; ${machine.cpus} CPUs, 1-minute load ` +
      `${machine.loadBefore.toFixed(2)} before, ${machine.loadAfter.toFixed(2)} after. Chain reads are not ` +
      "counted (the source answers from memory): on a real RPC the first judgement adds the registration " +
      "and collateral event queries.",
    "",
    "| platform | check | ms per check | outcome |",
    "|---|---|---:|---|",
    ...rows.map((r) => `| ${r.platform} | ${r.check} | ${r.msPerCheck.toFixed(3)} | ${r.note} |`),
    "",
  ].join("\n");
}

/** Entry point for bench/run.ts. */
export async function run(outDir: string): Promise<void> {
  const { rows, machine } = await bench();
  const md = markdown(rows, machine);
  writeFileSync(
    join(outDir, "enclave-judgement.json"),
    `${JSON.stringify({ node: process.versions.node, machine, rows }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, "enclave-judgement.md"), md);
  process.stdout.write(md);
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? "")).href) {
  const { rows, machine } = await bench();
  process.stdout.write(markdown(rows, machine));
}
