import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { bytesToHex, type Hex } from "viem";
import { checkEvidence } from "../../enclave/admission.js";
import { measurementWord } from "../attest.js";
import { verifyTdxQuote } from "../dcap.js";
import { Platform } from "../verdict.js";
import { toHex } from "./bytes.js";
import { combineTdxMeasurement, TDX_MEASUREMENT_COMPONENTS, tdxMeasurement } from "./tdx-measurement.js";
import { flipByte, loadTdxVector, offsetIn, tdReportOf, toQuoteV5, vectorsSkip } from "./test-vectors.js";

/** Offsets in a TDX quote v4 from Intel's TDX DCAP Quoting Library API (header 48 bytes, then the TD report). */
const V4_BODY = 48;
const REGISTER = 48;
const SPEC_OFFSETS = {
  mrtd: V4_BODY + 136,
  rtmr0: V4_BODY + 328,
  rtmr1: V4_BODY + 376,
  rtmr2: V4_BODY + 424,
  rtmr3: V4_BODY + 472,
  mrconfigid: V4_BODY + 184,
  mrowner: V4_BODY + 232,
  mrownerconfig: V4_BODY + 280,
} as const;
/** The real vector's TDX measurement (pinned so that a change to the definition shows up here). */
const VECTOR_MEASUREMENT = "d6a4eb704e09e162ff9bfef831b58bb56c48b0da19cd16788130a68037351ef4";

describe("TDX measurement (real v4 vector)", { skip: vectorsSkip }, () => {
  const quote = () => loadTdxVector().quote;
  const options = () => loadTdxVector().options;

  test("is SHA-256(tag || MRTD || RTMR0-3 || MRCONFIGID || MROWNER || MROWNERCONFIG) at the spec's offsets", async () => {
    const q = quote();
    const hash = createHash("sha256").update("anonify/tdx-measurement/v1");
    for (const name of TDX_MEASUREMENT_COMPONENTS)
      hash.update(q.subarray(SPEC_OFFSETS[name], SPEC_OFFSETS[name] + REGISTER));
    const expected = hash.digest("hex");
    assert.equal(expected, VECTOR_MEASUREMENT);
    assert.equal(toHex(tdxMeasurement(tdReportOf(q))), expected);
    const verdict = await verifyTdxQuote(q, options());
    assert.equal(verdict.measurement, expected);
    // 32 bytes: the contract takes it as it is (no second hash).
    assert.equal(measurementWord(verdict.measurement), `0x${expected}`);
    // MRTD and every component stay visible, in hashing order.
    assert.deepEqual(Object.keys(verdict.measurements).slice(0, TDX_MEASUREMENT_COMPONENTS.length), [
      ...TDX_MEASUREMENT_COMPONENTS,
    ]);
    assert.equal(
      verdict.measurements.mrtd,
      toHex(q.subarray(SPEC_OFFSETS.mrtd, SPEC_OFFSETS.mrtd + REGISTER)),
    );
  });

  test("changes when any one component changes, and only through the components", () => {
    const q = quote();
    const original = toHex(tdxMeasurement(tdReportOf(q)));
    for (const name of TDX_MEASUREMENT_COMPONENTS) {
      const changed = flipByte(q, SPEC_OFFSETS[name] + REGISTER - 1);
      assert.notEqual(toHex(tdxMeasurement(tdReportOf(changed))), original, name);
    }
    // Report data, MRSEAM and the TCB SVN are not part of the code identity.
    const body = tdReportOf(q);
    assert.equal(toHex(tdxMeasurement(tdReportOf(flipByte(q, offsetIn(q, body.reportData))))), original);
    assert.equal(toHex(tdxMeasurement(tdReportOf(flipByte(q, offsetIn(q, body.mrSeam))))), original);
    // TD report 1.5: TEE_TCB_SVN2 and MRSERVICETD are not components either.
    assert.equal(
      toHex(tdxMeasurement(tdReportOf(toQuoteV5(q, { teeTcbSvn2: new Uint8Array(16).fill(9) })))),
      original,
    );
  });

  test("combineTdxMeasurement takes only 48-byte registers", () => {
    const components = Object.fromEntries(
      TDX_MEASUREMENT_COMPONENTS.map((n) => [n, new Uint8Array(REGISTER)]),
    );
    assert.equal(combineTdxMeasurement(components as never).length, 32);
    assert.throws(
      () => combineTdxMeasurement({ ...components, rtmr2: new Uint8Array(32) } as never),
      /rtmr2 is not 48 bytes/,
    );
  });

  test("a TD with the group's MRTD but another RTMR is refused: by the verifier and by the member's own-measurement check", async () => {
    const q = quote();
    const allowed = await verifyTdxQuote(q, options());
    const rtmr1 = offsetIn(q, tdReportOf(q).rtmr[1]);
    const other = flipByte(q, rtmr1 + 11);
    const otherBody = tdReportOf(other);
    assert.equal(toHex(otherBody.mrTd), allowed.measurements.mrtd, "same firmware");
    // Its own signature breaks (the host cannot edit a quote) ...
    await assert.rejects(verifyTdxQuote(other, options()), /signature invalid/);
    // ... and a member whose own build is a TD booted with that kernel does not admit the genuine quote.
    const otherWord = measurementWord(toHex(tdxMeasurement(otherBody)));
    assert.notEqual(otherWord, measurementWord(allowed.measurement));
    await assert.rejects(evidenceCheck(q, otherWord), /is not this enclave's own/);
    // A member of the vector's own measurement gets past the measurement to the binding (the vector
    // binds no enclave of ours).
    await assert.rejects(evidenceCheck(q, measurementWord(allowed.measurement)), /binding/);
  });
});

const ENCLAVE = "0x00000000000000000000000000000000000000e1" as const;
const HPKE_KEY: Hex = `0x${"22".repeat(32)}`;
const DOMAIN = { chainId: 31337, contract: "0x00000000000000000000000000000000000000c0" as const };

/** What every member enclave checks of a joiner's TDX evidence, as a member of measurement `own`. */
async function evidenceCheck(quote: Uint8Array, own: Hex): Promise<void> {
  const { options } = loadTdxVector();
  await checkEvidence(
    { platform: Platform.tdx, evidence: bytesToHex(quote), collateral: options.collateral },
    { address: ENCLAVE, hpkePublicKey: HPKE_KEY, app: `0x${"a1".repeat(32)}` },
    DOMAIN,
    { profile: "production", measurement: own, app: `0x${"a1".repeat(32)}`, now: options.now },
  );
}
