// The test PKI (src/attestation/dcap/test-pki.ts) and its TDX quotes (test-quote.ts), judged by the
// real DCAP verifier with the test root pinned explicitly: a good quote is accepted as the real TDX
// sample is (UpToDate, the registers and report data it was made with), and everything else is
// refused by name: Intel's root pinned (the default), another PKI's evidence or collateral, a byte
// changed anywhere signed, a debug TD, a time outside the windows. Its collateral is what an
// operator publishes (`collateralRecord`), held by members only against the root they pin.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { bytesToHex } from "viem";
import { parseQuote, type TdReportBody } from "../../src/attestation/dcap/quote.js";
import { makeTdxTestPki, type TdxTestPki } from "../../src/attestation/dcap/test-pki.js";
import { makeTdxQuote, type TdRegisters } from "../../src/attestation/dcap/test-quote.js";
import { tdxMeasurement, verifyTdxQuote } from "../../src/attestation/dcap.js";
import { applyCollateral } from "../../src/attestation/held-collateral.js";
import { enforcePolicy, PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { VerificationError, type VerifyOptions } from "../../src/attestation/verdict.js";
import { collateralRecord } from "../../src/operator/collateral.js";

const REPORT_DATA = new Uint8Array(64).map((_, i) => i);
const register = (byte: number) => new Uint8Array(48).fill(byte);
const TD: TdRegisters = { mrTd: register(1), rtmr: [register(2), register(3), register(4), register(5)] };
const DAY_MS = 86_400_000;

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof VerificationError && pattern.test(error.reason);

describe("a TDX test PKI judged by the real DCAP verifier", () => {
  let pki: TdxTestPki;
  let other: TdxTestPki;
  let quote: Uint8Array;
  let pinned: VerifyOptions;
  before(async () => {
    [pki, other] = await Promise.all([makeTdxTestPki(), makeTdxTestPki({ name: "Other Test" })]);
    quote = await makeTdxQuote(pki, REPORT_DATA, TD);
    pinned = { now: new Date(), collateral: pki.collateral, rootCertificatePem: pki.rootPem };
  });

  test("a quote it signs verifies to its root: UpToDate, the TD's registers, the report data asked for", async () => {
    const verdict = await verifyTdxQuote(quote, pinned);
    assert.equal(verdict.platform, "tdx");
    assert.equal(verdict.tcbStatus, "UpToDate");
    assert.deepEqual(verdict.advisoryIds, []);
    assert.equal(verdict.debug, false);
    assert.equal(verdict.reportData, bytesToHex(REPORT_DATA).slice(2));
    assert.equal(verdict.measurements.mrtd, "01".repeat(48));
    assert.equal(verdict.measurements.rtmr3, "05".repeat(48));
    const body = parseQuote(quote).body as TdReportBody;
    assert.equal(verdict.measurement, bytesToHex(tdxMeasurement(body)).slice(2));
    enforcePolicy(PRODUCTION_POLICY, verdict, pinned.now);
  });

  test("with Intel's root pinned (no option: the default) it is refused, named", async () => {
    await assert.rejects(
      verifyTdxQuote(quote, { now: pinned.now, collateral: pki.collateral }),
      refusedWith(/^PCK chain: certificate chain does not start at the pinned root$/),
    );
  });

  test("another PKI's quote, or its collateral, is refused against this root", async () => {
    const foreign = await makeTdxQuote(other, REPORT_DATA, TD);
    await assert.rejects(
      verifyTdxQuote(foreign, pinned),
      refusedWith(/^PCK chain: certificate chain does not start at the pinned root$/),
    );
    await assert.rejects(
      verifyTdxQuote(quote, { ...pinned, collateral: other.collateral }),
      refusedWith(/does not start at the pinned root|signature invalid|issuer name mismatch/),
    );
  });

  test("a changed byte is refused wherever it is: report data, TD registers, QE report, PCK chain", async () => {
    const { body, qeReport } = parseQuote(quote) as { body: TdReportBody; qeReport: Uint8Array };
    const at = (part: Uint8Array) => part.byteOffset - quote.byteOffset;
    const flipped = (offset: number) => {
      const copy = quote.slice();
      copy[offset]! ^= 1;
      return copy;
    };
    await assert.rejects(
      verifyTdxQuote(flipped(at(body.reportData)), pinned),
      refusedWith(/^quote: signature invalid$/),
    );
    await assert.rejects(
      verifyTdxQuote(flipped(at(body.mrTd) + 5), pinned),
      refusedWith(/^quote: signature invalid$/),
    );
    await assert.rejects(
      verifyTdxQuote(flipped(at(qeReport) + 100), pinned),
      refusedWith(/^QE report: signature invalid$/),
    );
    const pem = new TextDecoder().decode(quote).indexOf("MII");
    const chain = quote.slice();
    chain[pem + 200] = chain[pem + 200] === 0x41 ? 0x42 : 0x41; // a base64 digit of the PCK certificate
    await assert.rejects(verifyTdxQuote(chain, pinned), (e) => e instanceof VerificationError);
  });

  test("a debug TD is refused, however well signed", async () => {
    const debug = await makeTdxQuote(pki, REPORT_DATA, { ...TD, debug: true });
    await assert.rejects(verifyTdxQuote(debug, pinned), refusedWith(/Debug mode is enabled/));
  });

  test("outside the collateral's and certificates' windows it is refused", async () => {
    const later = new Date(pinned.now.getTime() + 60 * DAY_MS);
    await assert.rejects(verifyTdxQuote(quote, { ...pinned, now: later }), refusedWith(/expired/));
    const earlier = new Date(pinned.now.getTime() - 2 * DAY_MS);
    await assert.rejects(
      verifyTdxQuote(quote, { ...pinned, now: earlier }),
      refusedWith(/not yet valid|after now/),
    );
  });

  test("its collateral is published as an operator would, and held only by members pinning its root", () => {
    const { record, head } = collateralRecord(pki.collateral, pki.rootPem);
    assert.equal(head.platform, "tdx");
    assert.equal(head.fmspc, "00a06f000000");
    const event = { collateral: bytesToHex(record), block: "1", logIndex: 0 };
    assert.equal(applyCollateral({}, event, pki.rootPem).outcome.outcome, "held");
    assert.match(
      applyCollateral({}, event).outcome.outcome,
      /^ignored: root CA CRL: issuer name mismatch$/,
      "a member pinning Intel's root ignores it",
    );
    assert.throws(() => collateralRecord(pki.collateral), /root CA CRL: issuer name mismatch/);
  });
});
