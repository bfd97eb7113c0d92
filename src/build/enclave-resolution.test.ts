// What the enclave bundle leaves out is never needed: the evidence verifiers, bundled as the enclave
// bundles them (node-fetch, elliptic and hash.js stubbed, cbor-x without eval), judge the real SGX,
// TDX and Nitro evidence exactly as they do from source; and a stub, if it ever ran, fails by name.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  DCAP_VECTOR_NOW,
  flipByte,
  readVectorBase64,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../attestation/dcap/test-vectors.js";
import type { VerifyOptions } from "../attestation/verdict.js";
import { VERIFIERS } from "../attestation/verifiers.js";
import { BUILTINS_ONLY_REQUIRE } from "./bundle-guard.js";
import { build, DETERMINISTIC, REPO_ROOT } from "./deterministic-build.js";
import { enclaveResolution, leftOutMessage } from "./enclave-resolution.js";

/** The Nitro document's own timestamp, inside its signing certificate's validity. */
const NITRO_NOW = new Date("2024-09-07T14:37:39.545Z");
/** A byte inside the signed part of each piece of evidence (past the quote's header, the COSE's). */
const TAMPERED_BYTE = 64;

const dir = mkdtempSync(join(tmpdir(), "anonify-resolution-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `source` bundled with the enclave's resolution and banner, written to a file and imported. */
async function enclaveBundled<T>(name: string, source: string): Promise<T> {
  const entry = join(dir, `${name}.ts`);
  writeFileSync(entry, source);
  const result = await build({
    ...DETERMINISTIC, // with enclaveResolution
    entryPoints: [entry],
    banner: { js: BUILTINS_ONLY_REQUIRE },
  });
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, result.outputFiles[0]!.contents);
  return (await import(pathToFileURL(file).href)) as T;
}

/** A verdict, or the refusal's message: what a verifier decided. */
const decision = (verdict: Promise<unknown>) =>
  verdict.then(
    (v) => ({ verdict: v }),
    (e: unknown) => ({ refused: e instanceof Error ? e.message : String(e) }),
  );

describe("the verifiers as the enclave bundles them", { skip: vectorsSkip }, () => {
  test("judge real SGX, TDX and Nitro evidence, and tampered copies, as from source", async () => {
    const bundled = await enclaveBundled<{ VERIFIERS: typeof VERIFIERS }>(
      "verifiers",
      `export { VERIFIERS } from ${JSON.stringify(join(REPO_ROOT, "src/attestation/verifiers.ts"))};`,
    );
    const dcap = (name: string): VerifyOptions => ({
      now: DCAP_VECTOR_NOW,
      collateral: readVectorJson(`sgx-dcap/${name}_quote_collateral.json`),
    });
    const cases = [
      { format: "sgx", evidence: readVectorBytes("sgx-dcap/sgx_quote"), options: dcap("sgx") },
      { format: "tdx", evidence: readVectorBytes("sgx-dcap/tdx_quote"), options: dcap("tdx") },
      {
        format: "nitro",
        evidence: readVectorBase64("nitro/nitro_attestation.b64"),
        options: { now: NITRO_NOW },
      },
    ] as const;
    for (const { format, evidence, options } of cases)
      for (const [bytes, kept] of [
        [evidence, true],
        [flipByte(evidence, TAMPERED_BYTE), false],
      ] as const) {
        const fromSource = await decision(VERIFIERS[format](bytes, options));
        const fromBundle = await decision(bundled.VERIFIERS[format](bytes, options));
        assert.equal("verdict" in fromSource, kept, `${format}: ${JSON.stringify(fromSource)}`);
        assert.deepEqual(fromBundle, fromSource, format);
      }
  });
});

describe("a package left out", () => {
  test("is left out of every measured build: the enclave's and each app's own", () => {
    assert.ok(DETERMINISTIC.plugins.includes(enclaveResolution));
  });

  test("fails by name when used, whether loaded with its importer or on its own", async () => {
    const probe = await enclaveBundled<{ useElliptic(): unknown; loadMlKem(): Promise<unknown> }>(
      "probe",
      [
        'import elliptic from "elliptic";',
        "export const useElliptic = () => new elliptic.ec('p256');",
        'export const loadMlKem = () => import("@hpke/ml-kem");',
      ].join("\n"),
    );
    assert.throws(() => probe.useElliptic(), { message: leftOutMessage("elliptic") });
    await assert.rejects(probe.loadMlKem(), { message: leftOutMessage("@hpke/ml-kem") });
  });
});
