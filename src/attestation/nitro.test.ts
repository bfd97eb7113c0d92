import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { flipByte, offsetIn, readVectorBase64, vectorsSkip } from "./dcap/test-vectors.js";
import { INTEL_SGX_ROOT_CA_PEM } from "./dcap.js";
import {
  AWS_NITRO_ROOT_G1_PEM,
  AWS_NITRO_ROOT_G1_SHA256,
  parseNitroDocument,
  verifyNitroDocument,
} from "./nitro.js";
import { VerificationError } from "./verdict.js";

/** The document's own timestamp; its signing certificate lives 14:37:36 .. 17:37:39 that day. */
const NOW = new Date("2024-09-07T14:37:39.545Z");
const LEAF_EXPIRED = new Date("2024-09-07T17:37:40Z");
const LEAF_NOT_YET_VALID = new Date("2024-09-07T14:37:35Z");
const SELF_SIGNED_NOW = new Date("2024-04-17T18:51:46Z");

const PCR0 =
  "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a";
const PCR1 =
  "0343b056cd8485ca7890ddd833476d78460aed2aa161548e4e26bedf321726696257d623e8805f3f605946b3d8b0c6aa";
const PCR2 =
  "d5dcbdea0aa39c802f9d55ced2ea6e4d74ecec5f08fe40c508882639c9090642669106a062a3e24ee2805a3024b9b75c";
const PCR4 =
  "45706d7b621e4620a332e147a5ddb000b049f73d47d3e61f6b03d2069152d4df6a4a786ad1c10102b955799a9dc96b44";
const ZERO_48 = "00".repeat(48);
/** The sample's user_data, nonce and public_key are each 1024 bytes of 0x01. */
const ONES_1024 = "01".repeat(1024);
const PCR_COUNT = 16;

const real = () => readVectorBase64("nitro/nitro_attestation.b64");
const selfSigned = () => readVectorBase64("nitro/selfsigned_attestation.b64");

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
    assert.match(error.reason, pattern);
    return true;
  });
}

/** The self-made root of a test document: cabundle[0], or the (self-signed) signing certificate itself. */
function ownRootPem(evidence: Uint8Array): string {
  const { document } = parseNitroDocument(evidence);
  return new X509Certificate(document.cabundle[0] ?? document.certificate).toString();
}

test("the pinned AWS Nitro Enclaves root G1 is the published one", () => {
  const der = new X509Certificate(AWS_NITRO_ROOT_G1_PEM).raw;
  assert.equal(createHash("sha256").update(der).digest("hex"), AWS_NITRO_ROOT_G1_SHA256);
});

describe("AWS Nitro attestation document (real vector)", { skip: vectorsSkip }, () => {
  test("verifies at its timestamp and reports every PCR", async () => {
    const verdict = await verifyNitroDocument(real(), { now: NOW });
    assert.equal(verdict.platform, "nitro");
    assert.equal(verdict.measurement, PCR0);
    assert.equal(verdict.signerMeasurement, ZERO_48, "PCR8 is zero: unsigned enclave image");
    assert.equal(Object.keys(verdict.measurements).length, PCR_COUNT);
    assert.equal(verdict.measurements.pcr0, PCR0);
    assert.equal(verdict.measurements.pcr1, PCR1);
    assert.equal(verdict.measurements.pcr2, PCR2);
    assert.equal(verdict.measurements.pcr3, ZERO_48);
    assert.equal(verdict.measurements.pcr4, PCR4);
    assert.equal(verdict.measurements.pcr15, ZERO_48);
    assert.equal(verdict.debug, false);
    assert.equal(verdict.tcbStatus, "UpToDate");
    assert.deepEqual(verdict.advisoryIds, []);
    assert.equal(verdict.reportData, ONES_1024);
    assert.equal(verdict.nonce, ONES_1024);
    assert.equal(verdict.publicKey, ONES_1024);
    assert.deepEqual(verdict.issuedAt, NOW);
  });

  test("cabundle[0] is the pinned AWS root", () => {
    const { document } = parseNitroDocument(real());
    assert.equal(
      new X509Certificate(document.cabundle[0]!).toString(),
      new X509Certificate(AWS_NITRO_ROOT_G1_PEM).toString(),
    );
  });

  test("fails once the signing certificate has expired, or before it was issued", async () => {
    await rejects(verifyNitroDocument(real(), { now: LEAF_EXPIRED }), /certificate 4: certificate expired/);
    await rejects(
      verifyNitroDocument(real(), { now: LEAF_NOT_YET_VALID }),
      /certificate 4: certificate not yet valid/,
    );
    await rejects(verifyNitroDocument(real(), { now: new Date(Number.NaN) }), /options\.now/);
  });

  test("fails against another pinned root", async () => {
    await rejects(
      verifyNitroDocument(real(), { now: NOW, rootCertificatePem: INTEL_SGX_ROOT_CA_PEM }),
      /does not start at the pinned root/,
    );
    await rejects(
      verifyNitroDocument(real(), { now: NOW, rootCertificatePem: ownRootPem(selfSigned()) }),
      /does not start at the pinned root/,
    );
  });

  test("a flipped byte in a PCR, the user data or the signature fails the COSE signature", async () => {
    const evidence = real();
    const { document, signature } = parseNitroDocument(evidence);
    const pcr4 = document.pcrs.get(4)!;
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, pcr4) + 10), { now: NOW }),
      /COSE signature invalid/,
    );
    const userData = document.userData!;
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, userData)), { now: NOW }),
      /COSE signature invalid/,
    );
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, signature) + 50), { now: NOW }),
      /COSE signature invalid/,
    );
  });

  test("a flipped byte in the certificate chain fails the chain", async () => {
    const evidence = real();
    const { document } = parseNitroDocument(evidence);
    // Inside the TBS part of the signing certificate and of an intermediate.
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, document.certificate) + 200), { now: NOW }),
      /^nitro chain/,
    );
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, document.cabundle[2]!) + 150), { now: NOW }),
      /^nitro chain/,
    );
    // The root itself: unparsable here, and in any case no longer the pinned root.
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, document.cabundle[0]!) + 150), { now: NOW }),
      /^nitro chain: (certificate 0: malformed|certificate chain does not start at the pinned root)/,
    );
    await rejects(
      verifyNitroDocument(flipByte(evidence, offsetIn(evidence, document.cabundle[0]!) + 500), { now: NOW }),
      /^nitro chain: (certificate 0: malformed|certificate chain does not start at the pinned root)/,
    );
  });

  test("a protected header with another algorithm fails", async () => {
    const evidence = real();
    // 84 44 a1 01 38 22 ...: the alg value -35 is the byte 0x22 at offset 5.
    assert.equal(evidence[5], 0x22);
    await rejects(verifyNitroDocument(flipByte(evidence, 5, 0x02), { now: NOW }), /alg is not ES384/);
  });

  test("truncation, extension and base64 text fail", async () => {
    const evidence = real();
    await rejects(
      verifyNitroDocument(evidence.subarray(0, evidence.length - 1), { now: NOW }),
      /not valid CBOR/,
    );
    await rejects(
      verifyNitroDocument(Buffer.concat([evidence, Buffer.of(0)]), { now: NOW }),
      /not valid CBOR/,
    );
    const base64 = new TextEncoder().encode(Buffer.from(evidence).toString("base64"));
    await rejects(verifyNitroDocument(base64, { now: NOW }), /^nitro:/);
  });
});

describe("self-signed Nitro-shaped document (test vector)", { skip: vectorsSkip }, () => {
  test("is rejected against the AWS root", async () => {
    await rejects(
      verifyNitroDocument(selfSigned(), { now: SELF_SIGNED_NOW }),
      /does not start at the pinned root/,
    );
  });

  test("passes only with its own root pinned explicitly", async () => {
    const evidence = selfSigned();
    const verdict = await verifyNitroDocument(evidence, {
      now: SELF_SIGNED_NOW,
      rootCertificatePem: ownRootPem(evidence),
    });
    assert.equal(verdict.platform, "nitro");
    assert.equal(Object.keys(verdict.measurements).length, 32);
    // Its PCRs are ASCII "0" characters, not zero bytes: not a debug enclave.
    assert.equal(verdict.measurement, "30".repeat(48));
    assert.equal(verdict.debug, false);
    assert.equal(verdict.reportData, "");
    assert.equal(verdict.publicKey?.length, 130);
  });
});

test("garbage fails with a VerificationError", async () => {
  await rejects(verifyNitroDocument(new Uint8Array(0), { now: NOW }), /not valid CBOR/);
  await rejects(
    verifyNitroDocument(Uint8Array.of(0x84, 0x40, 0xa0, 0x40, 0x40), { now: NOW }),
    /signature must be 96 bytes/,
  );
  await rejects(verifyNitroDocument(Uint8Array.of(0xa0), { now: NOW }), /array of four/);
  // Deep nesting (stack exhaustion in the decoder), huge declared lengths, cbor-x's RegExp tag 27.
  await rejects(verifyNitroDocument(new Uint8Array(200_000).fill(0x81), { now: NOW }), /not valid CBOR/);
  await rejects(
    verifyNitroDocument(Uint8Array.of(0x9b, 0, 0, 0, 1, 0, 0, 0, 0), { now: NOW }),
    /not valid CBOR/,
  );
  const regexpTag = Uint8Array.of(0xd8, 0x1b, 0x82, 0x66, ...Buffer.from("RegExp"), 0x61, 0x28);
  await rejects(verifyNitroDocument(regexpTag, { now: NOW }), /not valid CBOR/);
});
