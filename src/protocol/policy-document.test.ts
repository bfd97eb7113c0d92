// The policy document codec (strict, versioned) and its verification against pinned keys.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesToHex, concat, type Hex, hexToBytes, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import { DEV_POLICY_KEYS, DEV_POLICY_PRIVATE_KEYS } from "./dev-policy-keys.js";
import type { LedgerDomain } from "./digests.js";
import {
  decodePolicy,
  encodePolicy,
  type PolicyDocument,
  PolicyError,
  policyDigest,
  verifyPolicy,
} from "./policy-document.js";

const DOMAIN: LedgerDomain = { chainId: 31337, contract: `0x${"cd".repeat(20)}` };
const A: Hex = `0x${"0a".repeat(20)}`;
const B: Hex = `0x${"0b".repeat(20)}`;
const DOC: PolicyDocument = { version: 7n, chainId: 31337n, contract: DOMAIN.contract, revocations: [B, A] };

describe("policy document codec", () => {
  test("the layout: magic, format, version, chain, contract, then the revocations field, sorted", () => {
    const bytes = encodePolicy(DOC);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "ANFYPLCY");
    assert.equal(bytes[8], 1);
    assert.equal(toHex(bytes.subarray(9, 17)), "0x0000000000000007");
    assert.equal(toHex(bytes.subarray(17, 25)), "0x0000000000007a69");
    assert.equal(toHex(bytes.subarray(25, 45)), DOMAIN.contract);
    assert.equal(toHex(bytes.subarray(45, 50)), "0x010000002a", "tag 1, length 2 + 2 × 20");
    assert.equal(toHex(bytes.subarray(50, 52)), "0x0002");
    assert.equal(bytes.length, 52 + 40);
    const decoded = decodePolicy(bytes);
    assert.deepEqual(decoded.revocations, [A, B]);
    assert.equal(decoded.version, 7n);
    assert.deepEqual(encodePolicy(decoded), bytes, "one encoding per document");
  });

  test("strict decoding refuses every deviation", () => {
    const bytes = encodePolicy(DOC);
    const swapped = bytes.slice();
    swapped.set(hexToBytes(B), 52);
    swapped.set(hexToBytes(A), 72);
    const reserved = concat([bytes, Uint8Array.of(2, 0, 0, 0, 0)]);
    const repeated = concat([bytes, Uint8Array.of(1, 0, 0, 0, 2, 0, 0)]);
    const zeroVersion = bytes.slice();
    zeroVersion.fill(0, 9, 17);
    const cases: [string, Uint8Array, RegExp][] = [
      ["wrong magic", concat([Uint8Array.of(0x42), bytes.subarray(1)]), /not a policy document/],
      [
        "unknown format",
        concat([bytes.subarray(0, 8), Uint8Array.of(2), bytes.subarray(9)]),
        /unknown policy format 2/,
      ],
      ["trailing byte", concat([bytes, Uint8Array.of(0)]), /field header truncated/],
      ["truncated body", bytes.subarray(0, bytes.length - 1), /field truncated/],
      ["truncated header", bytes.subarray(0, 44), /document truncated/],
      ["revocations not ascending", swapped, /not strictly ascending/],
      ["a reserved field this build does not read", reserved, /unknown policy field 2/],
      ["a repeated field", repeated, /out of order or repeated/],
      ["version 0", zeroVersion, /version starts at 1/],
    ];
    for (const [name, input, reason] of cases) {
      assert.throws(
        () => decodePolicy(input),
        (e: unknown) => e instanceof PolicyError && reason.test(e.message),
        name,
      );
    }
  });

  test("verifyPolicy counts distinct pinned signers and checks the domain", async () => {
    const document = bytesToHex(encodePolicy(DOC));
    const digest = policyDigest(DOMAIN, document);
    const signBy = (privateKey: Hex) => sign({ hash: digest, privateKey, to: "hex" });
    const [k1, k2] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex];
    const ok = await verifyPolicy(document, [await signBy(k1), await signBy(k2)], DOMAIN, DEV_POLICY_KEYS);
    assert.deepEqual(ok.revocations, [A, B]);
    const stranger = generatePrivateKey();
    assert.ok(!DEV_POLICY_KEYS.signers.includes(privateKeyToAccount(stranger).address));
    const rejects = (signatures: Hex[], domain: LedgerDomain, reason: RegExp) =>
      assert.rejects(
        verifyPolicy(document, signatures, domain, DEV_POLICY_KEYS),
        (e: unknown) => e instanceof PolicyError && reason.test(e.message),
      );
    await rejects([await signBy(k1)], DOMAIN, /signed by 1 distinct pinned keys, 2 needed/);
    await rejects([await signBy(k1), await signBy(k1)], DOMAIN, /signed by 1 distinct/);
    await rejects([await signBy(k1), await signBy(stranger)], DOMAIN, /signed by 1 distinct/);
    await rejects([await signBy(k1), `0x${"00".repeat(65)}`, "0x"], DOMAIN, /signed by 1 distinct/);
    await rejects(
      [await signBy(k1), await signBy(k2)],
      { ...DOMAIN, chainId: 5 },
      /document is for chain 31337/,
    );
    await assert.rejects(
      verifyPolicy(document, [await signBy(k1), await signBy(k2)], DOMAIN, {
        ...DEV_POLICY_KEYS,
        threshold: 3,
      }),
      /signed by 2 distinct pinned keys, 3 needed/,
    );
  });
});
