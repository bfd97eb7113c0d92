// TDX quote v5 (TDX 1.5): parsed and judged as the reference verifiers do. Intel's TDX DCAP Quoting
// Library API appendix A and its QVL (Quote.cpp): header | body descriptor (type u16, size u32) | TD
// report 1.0 (type 2, 584 bytes) or 1.5 (type 3, 648 bytes: + TEE_TCB_SVN2, MRSERVICETD) | v4 auth data.
// No real v5 quote is at hand, so these are built from the real v4 one (test-vectors.ts: toQuoteV5).
// Their quote signature cannot be valid (only the QE's attestation key, inside Intel's QE, could make
// it): the full verifier is driven up to that check, and the signature check itself is exercised with
// a test attestation key written into the quote.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, test } from "node:test";
import { Quote } from "@phala/dcap-qvl";
import { verifySgxQuote, verifyTdxQuote } from "../dcap.js";
import { VerificationError } from "../verdict.js";
import { toHex } from "./bytes.js";
import { parseQuote } from "./quote.js";
import { verifyQuoteSignature } from "./signatures.js";
import { evaluateTdxModule } from "./tdx-module.js";
import {
  flipByte,
  loadTdxVector,
  offsetIn,
  readVectorBytes,
  tdReportOf,
  toQuoteV5,
  vectorsSkip,
} from "./test-vectors.js";

const HEADER = 48;
const DESCRIPTOR = 6;
const TD10 = 584;
const TD15 = 648;
const P256_RAW_POINT = 64;

function rejectsWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof VerificationError && pattern.test(e.reason));
}

/** The quote with its attestation key replaced by a fresh one that signs `quote`'s signed bytes. */
function resign(quote: Uint8Array): Uint8Array {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  const parsed = parseQuote(quote);
  const copy = quote.slice();
  copy.set(
    sign("sha256", parsed.signedBytes, { key: privateKey, dsaEncoding: "ieee-p1363" }),
    offsetIn(quote, parsed.signature),
  );
  copy.set(point, offsetIn(quote, parsed.attestationKey));
  assert.equal(point.length, P256_RAW_POINT);
  return copy;
}

describe("TDX quote v5 (built from the real v4 vector)", { skip: vectorsSkip }, () => {
  test("TD report 1.5: every field lands where dcap-qvl puts it", () => {
    const { quote: v4 } = loadTdxVector();
    const svn2 = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
    const v5 = toQuoteV5(v4, { teeTcbSvn2: svn2 });
    const ours = parseQuote(v5);
    const theirs = Quote.parse(Buffer.from(v5));
    assert.equal(ours.header.version, 5);
    assert.equal(ours.body.kind, "td15");
    assert.equal(theirs.report.type, "td15");
    if (ours.body.kind !== "td15") return;
    const base = theirs.report.asTd10()!;
    const td15 = theirs.report.asTd15()!;
    assert.equal(toHex(ours.body.mrTd), toHex(base.mrTd));
    assert.deepEqual(ours.body.rtmr.map(toHex), [base.rtMr0, base.rtMr1, base.rtMr2, base.rtMr3].map(toHex));
    assert.equal(toHex(ours.body.mrConfigId), toHex(base.mrConfigId));
    assert.equal(toHex(ours.body.mrOwner), toHex(base.mrOwner));
    assert.equal(toHex(ours.body.mrOwnerConfig), toHex(base.mrOwnerConfig));
    assert.equal(toHex(ours.body.teeTcbSvn), toHex(base.teeTcbSvn));
    assert.equal(toHex(ours.body.reportData), toHex(base.reportData));
    assert.equal(toHex(ours.body.teeTcbSvn2), toHex(svn2));
    assert.equal(toHex(ours.body.teeTcbSvn2), toHex(td15.teeTcbSvn2));
    assert.equal(toHex(ours.body.mrServiceTd), toHex(td15.mrServiceTd));
    // The signed bytes are header | descriptor | body, as both reference verifiers take them.
    assert.equal(ours.signedBytes.length, HEADER + DESCRIPTOR + TD15);
    assert.equal(ours.signedBytes.length, theirs.signedLength());
    // The same registers as the v4 quote they came from, at their v5 offsets.
    const v4Body = tdReportOf(v4);
    assert.equal(offsetIn(v5, ours.body.mrTd), offsetIn(v4, v4Body.mrTd) + DESCRIPTOR);
    assert.equal(toHex(ours.body.rtmr[2]), toHex(v4Body.rtmr[2]));
    assert.equal(toHex(ours.attestationKey), toHex(parseQuote(v4).attestationKey));
  });

  test("TD report 1.0 in a v5 quote (body type 2)", () => {
    const { quote: v4 } = loadTdxVector();
    const v5 = toQuoteV5(v4, { bodyType: 2 });
    const ours = parseQuote(v5);
    assert.equal(ours.body.kind, "td10");
    assert.equal(ours.signedBytes.length, HEADER + DESCRIPTOR + TD10);
    assert.equal(Quote.parse(Buffer.from(v5)).signedLength(), ours.signedBytes.length);
    assert.equal(toHex(tdReportOf(v5).mrTd), toHex(tdReportOf(v4).mrTd));
  });

  test("the descriptor is strict: known TD body types only, size exactly the type's", () => {
    const { quote: v4 } = loadTdxVector();
    rejectsWith(() => parseQuote(toQuoteV5(v4, { declaredSize: TD15 + 1 })), /body type 3 declares size 649/);
    rejectsWith(
      () => parseQuote(toQuoteV5(v4, { bodyType: 3, declaredSize: TD10 })),
      /declares size 584, expected 648/,
    );
    rejectsWith(() => parseQuote(toQuoteV5(v4, { bodyType: 2, declaredSize: TD15 })), /expected 584/);
    rejectsWith(() => parseQuote(toQuoteV5(v4, { bodyType: 1 })), /unsupported TDX body type 1/);
    rejectsWith(() => parseQuote(toQuoteV5(v4, { bodyType: 4 })), /unsupported TDX body type 4/);
    rejectsWith(
      () => parseQuote(toQuoteV5(v4).subarray(0, HEADER + DESCRIPTOR + 100)),
      /truncated at TD report body/,
    );
    // An SGX quote is accepted as v3 only (as dcap-qvl requires).
    const sgxV5 = readVectorBytes("sgx-dcap/sgx_quote").slice();
    sgxV5[0] = 5;
    rejectsWith(() => parseQuote(sgxV5), /unsupported version 5 \/ TEE type 0x0/);
  });

  test("the full verifier runs every check up to the quote signature, which signed the v4 bytes", async () => {
    const { quote: v4, options } = loadTdxVector();
    for (const v5 of [toQuoteV5(v4), toQuoteV5(v4, { bodyType: 2 })]) {
      // PCK chain, QE report signature and the attestation key binding passed: only the last check fails.
      await assert.rejects(verifyTdxQuote(v5, options), (e: unknown) => {
        assert.ok(e instanceof VerificationError);
        assert.equal(e.reason, "quote: signature invalid");
        return true;
      });
      await assert.rejects(verifySgxQuote(v5, options), /not a SGX quote/);
    }
  });

  test("a service TD binding (MRSERVICETD not zero) is refused before any signature work", async () => {
    const { quote: v4, options } = loadTdxVector();
    const v5 = toQuoteV5(v4, { mrServiceTd: new Uint8Array(48).fill(1) });
    await assert.rejects(verifyTdxQuote(v5, options), /MRSERVICETD is not zero/);
  });

  test("the attestation key signs header, descriptor and the whole TD report 1.5", () => {
    const { quote: v4 } = loadTdxVector();
    const signed = resign(toQuoteV5(v4));
    const parsed = parseQuote(signed);
    verifyQuoteSignature(parsed);
    // The descriptor is inside the signed bytes (a changed descriptor does not even parse: see above).
    assert.equal(toHex(parsed.signedBytes.subarray(HEADER, HEADER + DESCRIPTOR)), "030088020000");
    const body = tdReportOf(signed);
    if (body.kind !== "td15") throw new Error("expected TD report 1.5");
    for (const offset of [
      8, // QE SVN, in the header
      offsetIn(signed, body.rtmr[3]),
      offsetIn(signed, body.teeTcbSvn2),
      offsetIn(signed, body.mrServiceTd) + 47,
    ]) {
      rejectsWith(
        () => verifyQuoteSignature(parseQuote(flipByte(signed, offset))),
        /^quote: signature invalid/,
      );
    }
  });

  test("TD report 1.5 is judged on TEE_TCB_SVN (the launch TCB), like 1.0", () => {
    const { quote: v4, options } = loadTdxVector();
    const tcbInfo = JSON.parse((options.collateral as Record<string, string>).tcb_info!);
    const v5 = tdReportOf(toQuoteV5(v4, { teeTcbSvn2: new Uint8Array(16) }));
    assert.deepEqual(evaluateTdxModule(tcbInfo, v5), evaluateTdxModule(tcbInfo, tdReportOf(v4)));
  });
});
