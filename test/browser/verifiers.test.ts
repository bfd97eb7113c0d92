// The client's own evidence verifiers (src/client/verifiers.ts) in a real browser (Debian's
// Chromium): bundled by Vite as the web wallet is, in a page with no global Buffer, they verify the
// real SGX and TDX quotes with their collateral and the real Nitro document (../shared/vectors, never
// copied here), and a real SEV-SNP report with its certificate table (test/fixtures/sev-snp), to the
// platform, measurement, TCB status and debug flag the Node tests expect, and refuse each with one
// byte of its measurement changed, with the VerificationError's reason.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { build } from "vite";
import {
  DCAP_VECTOR_NOW,
  flipByte,
  offsetIn,
  readVectorBase64,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../../src/attestation/dcap/test-vectors.js";
import { parseQuote } from "../../src/attestation/dcap.js";
import { parseNitroDocument } from "../../src/attestation/nitro.js";
import { Offset } from "../../src/attestation/sev-snp/report.js";
import { evidenceWithCertificates, sampleNamed } from "../../src/attestation/sev-snp/test-fixtures.js";
import type { PlatformName } from "../../src/attestation/verdict.js";
import { type Browser, launchChromium, NO_CHROMIUM } from "./chromium.js";
import type { PageAnswer, VerifyEvidence } from "./verifiers-page.js";

const PAGE_ENTRY = fileURLToPath(new URL("./verifiers-page.ts", import.meta.url));
/** The page's origin: never on the network, every request to it is answered from the bundle. */
const ORIGIN = "http://localhost:4173";

/** The Nitro document's own timestamp, inside its signing certificate's three hours. */
const NITRO_NOW = new Date("2024-09-07T14:37:39.545Z");

type Vector = {
  platform: PlatformName;
  evidence: () => Uint8Array;
  collateral?: () => unknown;
  now: Date;
  measurement: string;
  tcbStatus: string;
  /** Why the evidence is refused with a byte of its measurement changed: its signature no longer holds. */
  tamperedReason: string;
  /** Where in the evidence the measured identity (MRENCLAVE, MRTD, PCR0) sits. */
  measuredAt: (evidence: Uint8Array) => number;
};

/** A real DCAP quote with its collateral, at a time inside every validity window of both. */
const dcapVector = (platform: "sgx" | "tdx", measurement: string, tcbStatus: string): Vector => ({
  platform,
  evidence: () => readVectorBytes(`sgx-dcap/${platform}_quote`),
  collateral: () => readVectorJson(`sgx-dcap/${platform}_quote_collateral.json`),
  now: DCAP_VECTOR_NOW,
  measurement,
  tcbStatus,
  tamperedReason: "quote: signature invalid",
  measuredAt: (evidence) => {
    const { body } = parseQuote(evidence);
    return offsetIn(evidence, body.kind === "sgx" ? body.mrEnclave : body.mrTd);
  },
});

const VECTORS: Vector[] = [
  dcapVector(
    "sgx",
    "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
    "ConfigurationAndSWHardeningNeeded",
  ),
  dcapVector("tdx", "d6a4eb704e09e162ff9bfef831b58bb56c48b0da19cd16788130a68037351ef4", "UpToDate"),
  {
    platform: "nitro",
    evidence: () => readVectorBase64("nitro/nitro_attestation.b64"),
    now: NITRO_NOW,
    measurement:
      "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a",
    tcbStatus: "UpToDate",
    tamperedReason: "nitro: COSE signature invalid",
    measuredAt: (evidence) => offsetIn(evidence, parseNitroDocument(evidence).document.pcrs.get(0)!),
  },
  {
    // A real Turin report with its certificate table, as an enclave registers it (test/fixtures/sev-snp).
    platform: "sev-snp",
    evidence: () => evidenceWithCertificates(sampleNamed("turin-v5-vcek.bin")),
    now: sampleNamed("turin-v5-vcek.bin").now,
    measurement: sampleNamed("turin-v5-vcek.bin").measurement,
    tcbStatus: "UpToDate",
    tamperedReason: "sev-snp report: signature invalid (VCEK)",
    measuredAt: () => Offset.measurement,
  },
];

/**
 * Bundles the page with Vite into `outDir`, with the web wallet's settings (web/build.ts: relative
 * base, es2022, no config file), and returns the entry's file name.
 */
async function bundlePage(outDir: string): Promise<string> {
  const result = await build({
    root: resolve(PAGE_ENTRY, ".."),
    base: "./",
    configFile: false,
    publicDir: false,
    logLevel: "warn",
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2022",
      sourcemap: false,
      rolldownOptions: { input: PAGE_ENTRY },
    },
  });
  const outputs = [result].flat();
  const entry = outputs
    .flatMap((o) => ("output" in o ? o.output : []))
    .find((f) => f.type === "chunk" && f.isEntry);
  assert.ok(entry, "Vite wrote no entry chunk");
  return entry.fileName;
}

/** Serves the bundle at ORIGIN from `outDir` and refuses every other request. */
async function servePage(page: Page, outDir: string, entry: string): Promise<void> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>verifiers</title></head><body><script type="module" src="./${entry}"></script></body></html>`;
  await page.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== ORIGIN) return route.abort("blockedbyclient");
    if (url.pathname === "/") return route.fulfill({ contentType: "text/html", body: html });
    const path = join(outDir, url.pathname);
    if (!path.startsWith(outDir)) return route.fulfill({ status: 404 });
    return route.fulfill({ path }).catch(() => route.fulfill({ status: 404 }));
  });
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

describe("the client's verifiers, bundled for the browser, in Chromium", {
  skip: NO_CHROMIUM || vectorsSkip,
}, () => {
  let outDir: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  /** The page's answer for `evidence` (its collateral and `now` from `vector`). */
  const verifyInPage = (vector: Vector, evidence: Uint8Array): Promise<PageAnswer> =>
    page.evaluate(
      ([platform, evidenceBase64, collateral, now]) =>
        (globalThis as unknown as { verifyEvidence: VerifyEvidence }).verifyEvidence(
          platform,
          evidenceBase64,
          collateral,
          now,
        ),
      [vector.platform, base64(evidence), vector.collateral?.(), vector.now.toISOString()] as const,
    );

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), "anonify-verifiers-page-"));
    const entry = await bundlePage(outDir);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await servePage(page, outDir, entry);
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(
      () => typeof (globalThis as { verifyEvidence?: unknown }).verifyEvidence === "function",
    );
  });
  after(async () => {
    await browser?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test("the page has no global Buffer (what the verifiers needed before their port)", async () => {
    assert.equal(await page.evaluate(() => typeof Buffer), "undefined");
  });

  for (const vector of VECTORS) {
    test(`${vector.platform}: the real evidence verifies to its measurement and TCB status, not debug`, async () => {
      assert.deepEqual(await verifyInPage(vector, vector.evidence()), {
        verdict: {
          platform: vector.platform,
          measurement: vector.measurement,
          tcbStatus: vector.tcbStatus,
          debug: false,
        },
      });
    });

    test(`${vector.platform}: one byte of its measurement changed is refused, with the reason`, async (t) => {
      const evidence = vector.evidence();
      const answer = await verifyInPage(vector, flipByte(evidence, vector.measuredAt(evidence) + 5));
      assert.ok("refused" in answer, `a changed ${vector.platform} measurement verified`);
      t.diagnostic(`refused: ${answer.refused.name}: ${answer.refused.reason}`);
      assert.deepEqual(answer.refused, {
        name: "VerificationError",
        verificationError: true,
        reason: vector.tamperedReason,
      });
    });
  }

  test("the page threw nothing", () => {
    assert.deepEqual(pageErrors, []);
  });
});
