import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type * as X509 from "@peculiar/x509";
import { SIM_QUOTING_KEY_FILE, SimPlatform } from "../enclave/sim-platform.js";
import { verifySimQuote } from "./sim.js";
import {
  decodeSimQuote,
  encodeSimQuote,
  SIM_OFFSET_ATTRIBUTES,
  SIM_OFFSET_PLATFORM_TAG,
  simQuoteSignedBytes,
} from "./sim-quote.js";
import { SIM_ROOT_CERT_PEM } from "./sim-root.js";
import { VerificationError } from "./verdict.js";

const webcrypto = globalThis.crypto;
// Loaded lazily: @peculiar/x509 only loads once a Reflect metadata polyfill is in place (see sim.ts).
let x509: typeof X509;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const NOT_TO_PINNED_ROOT = "certificate chain does not lead to the pinned simulated root";

const identity = {
  measurement: new Uint8Array(32).map((_, i) => i),
  signerMeasurement: new Uint8Array(32).map((_, i) => 0xff - i),
};
const reportData = new Uint8Array(64).map((_, i) => (i * 7) & 0xff);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

async function rejection(promise: Promise<unknown>): Promise<VerificationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a VerificationError");
}

/** A complete stand-in PKI: someone else's root, a quoting key under it, and quotes it signs. */
async function selfMadeRoot(): Promise<{
  rootPem: string;
  makeQuote: (options?: { chainEnd?: Uint8Array }) => Promise<Uint8Array>;
}> {
  const rootKeys = await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const root = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: "CN=Someone else's sim root",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: EC_SIGN,
      keys: rootKeys,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    },
    webcrypto,
  );
  const leafKeys = await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const leaf = await x509.X509CertificateGenerator.create(
    {
      subject: "CN=Someone else's quoting key",
      issuer: root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: leafKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: EC_SIGN,
    },
    webcrypto,
  );
  const makeQuote = async ({ chainEnd }: { chainEnd?: Uint8Array } = {}): Promise<Uint8Array> => {
    const body = { ...identity, reportData, timestampMs: Date.now() };
    const signature = new Uint8Array(
      await webcrypto.subtle.sign(EC_SIGN, leafKeys.privateKey, simQuoteSignedBytes(body)),
    );
    const certificates = [new Uint8Array(leaf.rawData), chainEnd ?? new Uint8Array(root.rawData)];
    return encodeSimQuote({ ...body, signature, certificates });
  };
  return { rootPem: root.toString("pem"), makeQuote };
}

describe("simulated quotes", () => {
  let dataDir: string;
  let quote: Uint8Array;
  let quotedAt: number;
  const now = (): Date => new Date();

  before(async () => {
    x509 = await import("@peculiar/x509");
    dataDir = await mkdtemp(join(tmpdir(), "anonify-sim-quote-"));
    quotedAt = Date.now();
    quote = await new SimPlatform(dataDir, { now: () => quotedAt }).quote(reportData, identity);
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test("quote -> verify gives the measurements and report data, labelled simulated", async () => {
    const verdict = await verifySimQuote(quote, { now: now() });
    assert.deepEqual(verdict, {
      platform: "sim",
      measurement: hex(identity.measurement),
      signerMeasurement: hex(identity.signerMeasurement),
      measurements: {
        measurement: hex(identity.measurement),
        signerMeasurement: hex(identity.signerMeasurement),
      },
      debug: true,
      tcbStatus: "Simulated",
      advisoryIds: [],
      reportData: hex(reportData),
      issuedAt: new Date(quotedAt),
    });
  });

  test("the quote's header says SIMULATED and its debug attribute is set", () => {
    const text = new TextDecoder().decode(quote.subarray(0, SIM_OFFSET_PLATFORM_TAG + 9));
    assert.equal(text, "ANONIFY-SIM-QUOTE\0\x01SIMULATED");
    assert.equal(decodeSimQuote(quote).attributes & 2n, 2n);
  });

  test("the quoting key is stored with mode 0600 and reused", async () => {
    if (process.platform !== "win32") {
      assert.equal((await stat(join(dataDir, SIM_QUOTING_KEY_FILE))).mode & 0o777, 0o600);
    }
    const again = await new SimPlatform(dataDir).quote(reportData, identity);
    assert.deepEqual(decodeSimQuote(again).certificates, decodeSimQuote(quote).certificates);
  });

  test("flipping any single byte of the quote fails with VerificationError", async () => {
    const reasons = new Map<string, number>();
    // Low and high bit of every byte: the high bit turns DER tags into lookalikes a lenient parser accepts.
    for (let i = 0; i < quote.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = quote.slice();
        bad[i]! ^= mask;
        const { reason } = await rejection(verifySimQuote(bad, { now: now() }));
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    // Sanity: the failures come from every layer (format, chain, signature), not from one catch-all.
    assert.ok(reasons.has("not a simulated quote"), [...reasons.keys()].join("; "));
    assert.ok(reasons.has("quote signature invalid"));
    assert.ok(reasons.has(NOT_TO_PINNED_ROOT));
    assert.ok([...reasons.keys()].some((r) => r.startsWith("malformed certificate at chain position 0")));
  });

  test("every truncation and any appended byte fail with VerificationError", async () => {
    for (let n = 0; n < quote.length; n++)
      await rejection(verifySimQuote(quote.subarray(0, n), { now: now() }));
    const longer = new Uint8Array(quote.length + 1);
    longer.set(quote);
    assert.equal(
      (await rejection(verifySimQuote(longer, { now: now() }))).reason,
      "trailing bytes after the certificate chain",
    );
  });

  test("garbage and non-byte inputs fail with VerificationError", async () => {
    const inputs: unknown[] = [
      new Uint8Array(0),
      new Uint8Array(5000),
      webcrypto.getRandomValues(new Uint8Array(4096)),
      new TextEncoder().encode("ANONIFY-SIM-QUOTE"),
      "a string",
      null,
      undefined,
      [1, 2, 3],
    ];
    for (const input of inputs) await rejection(verifySimQuote(input as Uint8Array, { now: now() }));
    await rejection(verifySimQuote(quote, { now: new Date(Number.NaN) }));
    await rejection(verifySimQuote(quote, undefined as unknown as { now: Date }));
  });

  test("a quote without the debug attribute or the SIMULATED tag is refused before anything else", async () => {
    const noDebug = quote.slice();
    noDebug[SIM_OFFSET_ATTRIBUTES + 7] = 0;
    assert.equal(
      (await rejection(verifySimQuote(noDebug, { now: now() }))).reason,
      "simulated quote without the debug attribute",
    );
    const retagged = quote.slice();
    retagged.set(new TextEncoder().encode("HARDWARE!"), SIM_OFFSET_PLATFORM_TAG);
    assert.match((await rejection(verifySimQuote(retagged, { now: now() }))).reason, /platform tag/);
  });

  test("a quote under a self-made root fails against the pinned root, passes only with that root", async () => {
    const other = await selfMadeRoot();
    const forged = await other.makeQuote();
    assert.equal((await rejection(verifySimQuote(forged, { now: now() }))).reason, NOT_TO_PINNED_ROOT);
    const verdict = await verifySimQuote(forged, { now: now(), rootCertificatePem: other.rootPem });
    assert.equal(verdict.platform, "sim");
    assert.equal(verdict.reportData, hex(reportData));
    // ...and the real quote does not verify against the other root.
    const real = await rejection(verifySimQuote(quote, { now: now(), rootCertificatePem: other.rootPem }));
    assert.equal(real.reason, NOT_TO_PINNED_ROOT);
    // Passing the pinned root explicitly changes nothing.
    await verifySimQuote(quote, { now: now(), rootCertificatePem: SIM_ROOT_CERT_PEM });
  });

  test("a self-made quoting key cannot borrow the pinned root by appending it to the chain", async () => {
    const other = await selfMadeRoot();
    const pinnedDer = new Uint8Array(new x509.X509Certificate(SIM_ROOT_CERT_PEM).rawData);
    const forged = await other.makeQuote({ chainEnd: pinnedDer });
    const { reason } = await rejection(verifySimQuote(forged, { now: now() }));
    assert.ok(reason === NOT_TO_PINNED_ROOT || /not signed by its issuer/.test(reason), reason);
  });

  test("a malformed explicit root is a VerificationError", async () => {
    await rejection(verifySimQuote(quote, { now: now(), rootCertificatePem: "not a pem" }));
    const garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    await rejection(verifySimQuote(quote, { now: now(), rootCertificatePem: garbled }));
  });

  test("validity windows: expired after the quoting cert's notAfter, not yet valid before notBefore", async () => {
    const leaf = new x509.X509Certificate(decodeSimQuote(quote).certificates[0]!.slice());
    const tenYears = 10 * 365 * 24 * 3600 * 1000;
    assert.ok(Math.abs(leaf.notAfter.getTime() - quotedAt - tenYears) < 2000);

    const afterExpiry = new Date(leaf.notAfter.getTime() + 1000);
    const expired = await rejection(verifySimQuote(quote, { now: afterExpiry }));
    assert.equal(expired.reason, `certificate expired at ${afterExpiry.toISOString()}`);

    const early = new Date(leaf.notBefore.getTime() - 1000);
    const notYet = await rejection(verifySimQuote(quote, { now: early }));
    assert.equal(notYet.reason, `certificate not yet valid at ${early.toISOString()}`);

    // RFC 5280 bounds are inclusive.
    await verifySimQuote(quote, { now: leaf.notAfter });
    await verifySimQuote(quote, { now: leaf.notBefore });
  });
});
