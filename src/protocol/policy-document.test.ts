// The policy document codec (strict, versioned) and its verification against pinned keys.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesToHex, concat, type Hex, hexToBytes, numberToHex, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { policySignature } from "../operator/policy.js";
import { DEV_POLICY_KEYS, DEV_POLICY_PRIVATE_KEYS } from "./dev-policy-keys.js";
import type { LedgerDomain } from "./digests.js";
import {
  decodePolicy,
  encodePolicy,
  type PolicyDocument,
  PolicyError,
  policyDigest,
} from "./policy-document.js";
import { verifyPolicy } from "./policy-signatures.js";

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
    const unknown = concat([bytes, Uint8Array.of(7, 0, 0, 0, 0)]);
    const noRevocations = bytes.subarray(0, 45);
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
      ["a field this build does not read", unknown, /unknown policy field 7/],
      ["no revocations field", noRevocations, /revocations field missing/],
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

  test("measurements and TCB minimums: layout, one encoding, strict entries", () => {
    const word = (b: string): Hex => `0x${b.repeat(32)}`;
    const doc: PolicyDocument = {
      ...DOC,
      measurements: [
        { platform: 2, measurement: word("01") },
        { platform: 0, measurement: word("ff") },
      ],
      tcbMinimums: [
        { platform: 2, statuses: ["UpToDate", "SWHardeningNeeded"], tcbEvaluationDataNumber: 17 },
        { platform: 1, statuses: ["UpToDate"], tcbEvaluationDataNumber: 0 },
      ],
    };
    const bytes = encodePolicy(doc);
    const fields = 92; // the header and the revocations field, as above
    assert.equal(toHex(bytes.subarray(fields, fields + 7)), "0x02000000440002", "tag 2, 2 + 2 × 33, count 2");
    assert.equal(bytes[fields + 7], 0, "ascending: the simulated platform's entry first");
    const tcb = fields + 7 + 66;
    assert.equal(toHex(bytes.subarray(tcb, tcb + 6)), "0x030000000f02", "tag 3, 1 + 2 × 7, count 2");
    assert.equal(toHex(bytes.subarray(tcb + 6, tcb + 13)), "0x01000100000000", "sgx: UpToDate, no minimum");
    assert.equal(toHex(bytes.subarray(tcb + 13, tcb + 20)), "0x02000300000011", "tdx: bits 0 and 1, 17");
    assert.equal(bytes.length, tcb + 20);
    const decoded = decodePolicy(bytes);
    assert.deepEqual(decoded.measurements, [
      { platform: 0, measurement: word("ff") },
      { platform: 2, measurement: word("01") },
    ]);
    assert.deepEqual(decoded.tcbMinimums, [
      { platform: 1, statuses: ["UpToDate"], tcbEvaluationDataNumber: 0 },
      { platform: 2, statuses: ["UpToDate", "SWHardeningNeeded"], tcbEvaluationDataNumber: 17 },
    ]);
    assert.deepEqual(encodePolicy(decoded), bytes, "one encoding per document");
    assert.equal(decodePolicy(encodePolicy(DOC)).measurements, undefined, "absent stays absent");

    const swapped = bytes.slice();
    swapped.copyWithin(fields + 7, fields + 7 + 33, fields + 7 + 66);
    swapped.set(bytes.subarray(fields + 7, fields + 7 + 33), fields + 7 + 33);
    const samePlatform = bytes.slice();
    samePlatform[tcb + 13] = 1; // two sgx entries (the second with another mask)
    const unknownStatus = bytes.slice();
    unknownStatus[tcb + 7] = 0x80; // bit 15: no such TCB status
    const cases: [string, Uint8Array, RegExp][] = [
      ["measurements not ascending", swapped, /measurements not strictly ascending/],
      ["a platform twice", samePlatform, /platforms not strictly ascending/],
      ["an unknown TCB status bit", unknownStatus, /unknown TCB status/],
      [
        "a short measurement entry",
        concat([bytes.subarray(0, fields), Uint8Array.of(2, 0, 0, 0, 3, 0, 1, 0)]),
        /length does not match/,
      ],
    ];
    for (const [name, input, reason] of cases) {
      assert.throws(
        () => decodePolicy(input),
        (e: unknown) => e instanceof PolicyError && reason.test(e.message),
        name,
      );
    }
    assert.throws(
      () => encodePolicy({ ...DOC, measurements: [{ platform: 0, measurement: "0x01" }] }),
      /32 bytes/,
    );
  });

  test("apps: the upgrades a document admits, 32-byte ids, ascending, one encoding", () => {
    const low: Hex = `0x${"0c".repeat(32)}`;
    const high: Hex = `0x${"f0".repeat(32)}`;
    const bytes = encodePolicy({ ...DOC, apps: [high, low, high] });
    const fields = 92; // the header and the revocations field, as above
    assert.equal(toHex(bytes.subarray(fields, fields + 7)), "0x04000000420002", "tag 4, 2 + 2 × 32, count 2");
    assert.equal(toHex(bytes.subarray(fields + 7, fields + 39)), low, "ascending");
    assert.equal(bytes.length, fields + 7 + 64);
    assert.deepEqual(decodePolicy(bytes).apps, [low, high]);
    assert.equal(decodePolicy(encodePolicy(DOC)).apps, undefined, "absent stays absent");
    const swapped = bytes.slice();
    swapped.set(hexToBytes(high), fields + 7);
    swapped.set(hexToBytes(low), fields + 39);
    assert.throws(() => decodePolicy(swapped), /apps not strictly ascending/);
    assert.throws(() => encodePolicy({ ...DOC, apps: ["0x01"] }), /32 bytes/);
  });

  test("verifyPolicy counts distinct pinned signers under the one signature rule, and checks the domain", async () => {
    const document = bytesToHex(encodePolicy(DOC));
    const digest = policyDigest(DOMAIN, document);
    const signBy = (privateKey: Hex) => policySignature(digest, privateKey);
    const [k1, k2, k3] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex, Hex];
    const ok = verifyPolicy(document, [await signBy(k1), await signBy(k2)], DOMAIN, DEV_POLICY_KEYS);
    assert.deepEqual(ok.revocations, [A, B]);
    const stranger = generatePrivateKey();
    assert.ok(!DEV_POLICY_KEYS.signers.includes(privateKeyToAccount(stranger).address));
    const rejects = (signatures: Hex[], domain: LedgerDomain, reason: RegExp) =>
      assert.throws(
        () => verifyPolicy(document, signatures, domain, DEV_POLICY_KEYS),
        (e: unknown) => e instanceof PolicyError && reason.test(e.message),
      );
    const s2 = hexToBytes(await signBy(k2));
    // k2's signature as its high-s twin (s' = n − s, v flipped): a valid signature to viem, not to us.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const twin = s2.slice();
    twin.set(hexToBytes(numberToHex(n - BigInt(bytesToHex(s2.subarray(32, 64))), { size: 32 })), 32);
    twin[64] = twin[64] === 27 ? 28 : 27;
    // k2's signature with k1's key named beside it.
    const misnamed = concat([s2.subarray(0, 65), hexToBytes(await signBy(k1)).subarray(65)]);
    await rejects([await signBy(k1)], DOMAIN, /1 signature\(s\), 2 needed/);
    await rejects([await signBy(k1), await signBy(k1)], DOMAIN, /signed twice/);
    await rejects([await signBy(k1), await signBy(stranger)], DOMAIN, /signed by 1 distinct pinned keys/);
    await rejects([await signBy(k1), `0x${"00".repeat(98)}`], DOMAIN, /names no public key/);
    await rejects([await signBy(k1), "0x"], DOMAIN, /a signature entry is 98 bytes/);
    // A pinned key beside a signature that is not its holder's refuses the document whole.
    await rejects(
      [await signBy(k1), bytesToHex(twin)],
      DOMAIN,
      /pinned signer 0x[0-9a-f]{40} does not verify/,
    );
    await rejects(
      [await signBy(k3), bytesToHex(misnamed)],
      DOMAIN,
      /pinned signer 0x[0-9a-f]{40} does not verify/,
    );
    await rejects(
      [await signBy(k1), await signBy(k2), await signBy(stranger), await signBy(stranger)],
      DOMAIN,
      /4 signatures, more than the 3 pinned signers/,
    );
    await rejects(
      [await signBy(k1), await signBy(k2)],
      { ...DOMAIN, chainId: 5 },
      /document is for chain 31337/,
    );
    const three = [await signBy(k1), await signBy(k2), await signBy(stranger)];
    assert.throws(
      () => verifyPolicy(document, three, DOMAIN, { ...DEV_POLICY_KEYS, threshold: 3 }),
      /signed by 2 distinct pinned keys, 3 needed/,
    );
  });
});
