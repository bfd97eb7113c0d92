// Field 5 of a policy document, the upgrade to another state shape: its byte layout, strict decoding,
// and how documents fold it (a newer one replaces it, an older one or one without it leaves it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { concat, type Hex, toHex } from "viem";
import {
  decodePolicy,
  encodePolicy,
  nextPolicyState,
  type PolicyDocument,
  PolicyError,
} from "./policy-document.js";

const FROM: Hex = `0x${"0a".repeat(32)}`;
const TO: Hex = `0x${"0b".repeat(32)}`;
const DOC: PolicyDocument = {
  version: 3n,
  chainId: 31337n,
  contract: `0x${"cd".repeat(20)}`,
  revocations: [],
  apps: [FROM, TO],
  upgrade: { from: FROM, to: TO, fromVersion: 1 },
};
/** The header, the empty revocations field and the apps field with two ids. */
const BEFORE_UPGRADE = 45 + 5 + 2 + 5 + 2 + 64;
const UPGRADE_FIELD = 5 + 68;

const refused = (bytes: Uint8Array, reason: RegExp) =>
  assert.throws(
    () => decodePolicy(bytes),
    (e: unknown) => e instanceof PolicyError && reason.test(e.message),
  );

describe("policy field 5: upgrade", () => {
  test("the layout: tag 5, 68 bytes: from, to, u32 from state version", () => {
    const bytes = encodePolicy(DOC);
    assert.equal(bytes.length, BEFORE_UPGRADE + UPGRADE_FIELD);
    const field = bytes.subarray(BEFORE_UPGRADE);
    assert.equal(toHex(field.subarray(0, 5)), "0x0500000044", "tag 5, length 68");
    assert.equal(toHex(field.subarray(5, 37)), FROM);
    assert.equal(toHex(field.subarray(37, 69)), TO);
    assert.equal(toHex(field.subarray(69)), "0x00000001");
    assert.deepEqual(decodePolicy(bytes).upgrade, DOC.upgrade);
    assert.equal(decodePolicy(encodePolicy({ ...DOC, upgrade: undefined })).upgrade, undefined);
  });

  test("strict: its length, two different apps, a version from 1, both apps admitted by the document", () => {
    const bytes = encodePolicy(DOC);
    const head = bytes.subarray(0, BEFORE_UPGRADE);
    const body = bytes.subarray(BEFORE_UPGRADE + 5);
    const withBody = (b: Uint8Array) => concat([head, Uint8Array.of(5, 0, 0, 0, b.length), b]);
    refused(withBody(body.subarray(0, 67)), /an upgrade is 68 bytes/);
    refused(concat([bytes, Uint8Array.of(0)]), /field header truncated/);
    refused(
      withBody(concat([body.subarray(0, 32), body.subarray(0, 32), body.subarray(64)])),
      /two different apps/,
    );
    refused(
      withBody(concat([body.subarray(0, 64), Uint8Array.of(0, 0, 0, 0)])),
      /state version is a u32 from 1/,
    );
    const other: Hex = `0x${"0c".repeat(32)}`;
    const notAdmitted = encodePolicy({ ...DOC, apps: [FROM, other], upgrade: undefined });
    refused(concat([notAdmitted, bytes.subarray(BEFORE_UPGRADE)]), /names both its apps in apps/);
    assert.throws(() => encodePolicy({ ...DOC, apps: [TO] }), /names both its apps in apps/);
    assert.throws(
      () => encodePolicy({ ...DOC, upgrade: { from: FROM, to: FROM, fromVersion: 1 } }),
      /two different/,
    );
    assert.throws(() => encodePolicy({ ...DOC, upgrade: { from: FROM, to: TO, fromVersion: 0 } }), /from 1/);
  });

  test("folded: a newer document replaces it, one without it or an older one leaves it", () => {
    const first = nextPolicyState(undefined, decodePolicy(encodePolicy(DOC)));
    assert.deepEqual(first.upgrade, DOC.upgrade);
    const later = nextPolicyState(first, { ...DOC, version: 4n, upgrade: undefined, apps: [TO] });
    assert.deepEqual(later.upgrade, DOC.upgrade, "absent: it stands");
    const other = { from: TO, to: FROM, fromVersion: 2 };
    const older = nextPolicyState(later, { ...DOC, version: 2n, upgrade: other });
    assert.deepEqual(older.upgrade, DOC.upgrade, "an older document changes none of the replaced fields");
    assert.deepEqual(nextPolicyState(later, { ...DOC, version: 5n, upgrade: other }).upgrade, other);
  });
});
