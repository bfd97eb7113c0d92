// Deterministic fuzzing of the evidence formats (SGX quote, TDX quote, Nitro document, SEV-SNP report
// with its certificate table) with random bytes and mutations of the real vectors: byte flips,
// overwritten runs, truncations, extensions and hostile length fields; plus mutated SGX collateral.
//   Parser level (8,000 cases): parseQuote / parseNitroDocument / the SEV-SNP codecs either return
//   or throw a VerificationError, never anything else.
//   Full verification (13,400 cases; rejection is cheap, as mutants fail before the costly checks):
//   the verifier rejects with a VerificationError or, when the mutation only touched bytes no check
//   depends on (TDX zero padding trimmed, whitespace between PEM blocks, hex digits in another case),
//   returns exactly the original verdict. Never another exception type, never a different verdict.
// Each test has a timeout, so a hang fails instead of stalling the run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readVectorBase64, readVectorBytes, readVectorJson, vectorsSkip } from "./dcap/test-vectors.js";
import { parseQuote, verifySgxQuote, verifyTdxQuote } from "./dcap.js";
import { parseNitroDocument, verifyNitroDocument } from "./nitro.js";
import { decodeCertTable } from "./sev-snp/cert-table.js";
import { evidenceWithCertificates, sampleNamed } from "./sev-snp/test-fixtures.js";
import { decodeSevSnpReport, splitSevSnpEvidence, verifySevSnpReport } from "./sev-snp.js";
import { type Verdict, VerificationError, type Verifier, type VerifyOptions } from "./verdict.js";

const SEED = 0x5eed_2025;
const TIMEOUT_MS = 120_000;
const DCAP_NOW = new Date("2025-07-01T00:00:00Z");
const NITRO_NOW = new Date("2024-09-07T14:37:39.545Z");

/**
 * Cases per target. Rejection is cheap (most mutants fail before the expensive checks), so full
 * verifications alone exceed 10,000: 4 x (200 + 3,000) + 600 = 13,400, plus 4 x 2,000 parser cases.
 */
const PARSER_RANDOM_CASES = 500;
const PARSER_MUTATION_CASES = 1_500;
const FULL_RANDOM_CASES = 200;
const FULL_MUTATION_CASES = 3_000;
const COLLATERAL_MUTATION_CASES = 600;
const MAX_RANDOM_LENGTH = 6_000;
const MAX_EXTENSION = 64;
const MAX_FLIPS = 4;
const MAX_RUN = 32;
const DCAP_HEADER_SIZE = 48;
/** Length fields worth aiming at: empty, off by one, huge. */
const HOSTILE_LENGTHS = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];
const FIELD_WIDTHS = [1, 2, 4] as const;
const PRINTABLE_FIRST = 0x20;
const PRINTABLE_COUNT = 0x5f;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

class Fuzzer {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  random(): Uint8Array {
    return this.bytes(this.int(MAX_RANDOM_LENGTH));
  }

  /** Random bytes behind a real prefix, so parsing gets past the first checks. */
  randomAfter(prefix: Uint8Array): Uint8Array {
    return Buffer.concat([prefix, this.bytes(this.int(MAX_RANDOM_LENGTH))]);
  }

  mutate(original: Uint8Array): Uint8Array {
    const kind = this.int(5);
    if (kind === 0) return this.flip(original);
    if (kind === 1) return original.slice(0, this.int(original.length));
    if (kind === 2) return Buffer.concat([original, this.bytes(1 + this.int(MAX_EXTENSION))]);
    if (kind === 3) return this.overwriteRun(original);
    return this.hostileLength(original);
  }

  /** A mutation that really changes the bytes (a hostile length can rewrite what is already there). */
  mutateChanging(original: Uint8Array): Uint8Array {
    for (;;) {
      const mutant = this.mutate(original);
      if (Buffer.compare(mutant, original) !== 0) return mutant;
    }
  }

  private flip(original: Uint8Array): Uint8Array {
    const copy = original.slice();
    const flips = 1 + this.int(MAX_FLIPS);
    for (let i = 0; i < flips; i++) {
      const at = this.int(copy.length);
      copy[at] = copy[at]! ^ (1 + this.int(255));
    }
    return copy;
  }

  private overwriteRun(original: Uint8Array): Uint8Array {
    const copy = original.slice();
    const at = this.int(copy.length);
    copy.set(this.bytes(Math.min(1 + this.int(MAX_RUN), copy.length - at)), at);
    return copy;
  }

  /** A 1-, 2- or 4-byte field (either endianness) set to a hostile length. */
  private hostileLength(original: Uint8Array): Uint8Array {
    const value = HOSTILE_LENGTHS[this.int(HOSTILE_LENGTHS.length)]!;
    const width = FIELD_WIDTHS[this.int(FIELD_WIDTHS.length)]!;
    if (original.length < width) return this.flip(original);
    const field = Buffer.alloc(width);
    field.writeUIntLE(value % 2 ** (8 * width), 0, width);
    if (this.int(2) === 1) field.reverse();
    const copy = original.slice();
    copy.set(field, this.int(original.length - width + 1));
    return copy;
  }
}

/** Parsers may accept a structurally valid input; anything thrown must be a VerificationError. */
function assertParserOutcome(parse: (bytes: Uint8Array) => unknown, input: Uint8Array, label: string): void {
  try {
    parse(input);
  } catch (error) {
    if (!(error instanceof VerificationError)) {
      assert.fail(`${label}: ${String(error)} is not a VerificationError`);
    }
  }
}

/** Returns true when the mutant was rejected, false when it verified to the very same verdict. */
async function assertVerifierOutcome(
  verify: Verifier,
  input: Uint8Array,
  options: VerifyOptions,
  original: Verdict,
  label: string,
): Promise<boolean> {
  let verdict: Verdict;
  try {
    verdict = await verify(input, options);
  } catch (error) {
    if (!(error instanceof VerificationError)) {
      assert.fail(`${label}: ${String(error)} is not a VerificationError`);
    }
    return true;
  }
  assert.deepEqual(verdict, original, `${label}: a mutant verified to a different verdict`);
  return false;
}

type Target = {
  name: string;
  evidence: () => Uint8Array;
  parse: (bytes: Uint8Array) => unknown;
  verify: Verifier;
  options: () => VerifyOptions;
};

const targets: Target[] = [
  {
    name: "SGX quote",
    evidence: () => readVectorBytes("sgx-dcap/sgx_quote"),
    parse: parseQuote,
    verify: verifySgxQuote,
    options: () => ({ now: DCAP_NOW, collateral: readVectorJson("sgx-dcap/sgx_quote_collateral.json") }),
  },
  {
    name: "TDX quote",
    evidence: () => readVectorBytes("sgx-dcap/tdx_quote"),
    parse: parseQuote,
    verify: verifyTdxQuote,
    options: () => ({ now: DCAP_NOW, collateral: readVectorJson("sgx-dcap/tdx_quote_collateral.json") }),
  },
  {
    name: "Nitro document",
    evidence: () => readVectorBase64("nitro/nitro_attestation.b64"),
    parse: parseNitroDocument,
    verify: verifyNitroDocument,
    options: () => ({ now: NITRO_NOW }),
  },
  {
    name: "SEV-SNP report and certificate table",
    evidence: () => evidenceWithCertificates(sampleNamed("turin-v5-vcek.bin")),
    parse: (bytes) => {
      const { report, certTable } = splitSevSnpEvidence(bytes);
      decodeSevSnpReport(report);
      if (certTable) decodeCertTable(certTable);
    },
    verify: verifySevSnpReport,
    options: () => ({ now: sampleNamed("turin-v5-vcek.bin").now }),
  },
];

describe("fuzz", { skip: vectorsSkip, timeout: TIMEOUT_MS }, () => {
  targets.forEach((target, index) => {
    test(`${target.name}: parser on random and mutated bytes`, (t) => {
      const fuzz = new Fuzzer(SEED + index);
      const evidence = target.evidence();
      const prefix = evidence.subarray(0, DCAP_HEADER_SIZE);
      for (let i = 0; i < PARSER_RANDOM_CASES; i++) {
        const input = i % 2 === 0 ? fuzz.random() : fuzz.randomAfter(prefix);
        assertParserOutcome(target.parse, input, `${target.name} random #${i}`);
      }
      for (let i = 0; i < PARSER_MUTATION_CASES; i++) {
        assertParserOutcome(target.parse, fuzz.mutate(evidence), `${target.name} mutation #${i}`);
      }
      t.diagnostic(`${PARSER_RANDOM_CASES + PARSER_MUTATION_CASES} parser cases`);
    });

    test(`${target.name}: full verification of random and mutated bytes`, async (t) => {
      const fuzz = new Fuzzer(SEED + 100 + index);
      const evidence = target.evidence();
      const options = target.options();
      const original = await target.verify(evidence, options);
      let rejected = 0;
      for (let i = 0; i < FULL_RANDOM_CASES; i++) {
        if (
          await assertVerifierOutcome(
            target.verify,
            fuzz.random(),
            options,
            original,
            `${target.name} random #${i}`,
          )
        ) {
          rejected++;
        }
      }
      assert.equal(rejected, FULL_RANDOM_CASES, "random bytes must never verify");
      let neutral = 0;
      for (let i = 0; i < FULL_MUTATION_CASES; i++) {
        const label = `${target.name} mutation #${i}`;
        if (
          !(await assertVerifierOutcome(
            target.verify,
            fuzz.mutateChanging(evidence),
            options,
            original,
            label,
          ))
        ) {
          neutral++;
        }
      }
      t.diagnostic(`${FULL_RANDOM_CASES + FULL_MUTATION_CASES} full cases, ${neutral} neutral mutants`);
    });
  });

  test("SGX quote: full verification with mutated collateral", async (t) => {
    const fuzz = new Fuzzer(SEED + 200);
    const evidence = readVectorBytes("sgx-dcap/sgx_quote");
    const collateral = readVectorJson("sgx-dcap/sgx_quote_collateral.json") as Record<string, string>;
    const original = await verifySgxQuote(evidence, { now: DCAP_NOW, collateral });
    const keys = Object.keys(collateral);
    let neutral = 0;
    for (let i = 0; i < COLLATERAL_MUTATION_CASES; i++) {
      const key = keys[fuzz.int(keys.length)]!;
      const value = collateral[key]!;
      const at = fuzz.int(value.length);
      // Printable ASCII, so JSON and PEM stay text and deeper parsers are reached; never the same char.
      let char = value[at]!;
      while (char === value[at]) char = String.fromCharCode(PRINTABLE_FIRST + fuzz.int(PRINTABLE_COUNT));
      const mutated = { ...collateral, [key]: value.slice(0, at) + char + value.slice(at + 1) };
      const options = { now: DCAP_NOW, collateral: mutated };
      if (
        !(await assertVerifierOutcome(verifySgxQuote, evidence, options, original, `collateral ${key} #${i}`))
      ) {
        neutral++;
      }
    }
    t.diagnostic(`${COLLATERAL_MUTATION_CASES} collateral cases, ${neutral} neutral mutants`);
  });
});
