// Field 5 of a policy document, the upgrade to another state shape: its byte layout, strict decoding,
// the refusal of an upgrade to an app of another name (an app id is a hash: only the full identities
// show it), and how documents fold it (a newer one replaces it, an older one or one without it leaves it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { concat, type Hex, hexToBytes, toHex } from "viem";
import { type AppIdentity, appIdOf } from "./digests.js";
import {
  decodePolicy,
  encodePolicy,
  nextPolicyState,
  type PolicyDocument,
  PolicyError,
} from "./policy-document.js";
import { appUpgrade } from "./policy-upgrade.js";

const V1: AppIdentity = { name: "tally", codeHash: `0x${"0a".repeat(32)}`, stateVersion: 1 };
const V2: AppIdentity = { name: "tally", codeHash: `0x${"0b".repeat(32)}`, stateVersion: 2 };
const OTHER: AppIdentity = { name: "other", codeHash: `0x${"0b".repeat(32)}`, stateVersion: 2 };
const [FROM, TO] = [appIdOf(V1), appIdOf(V2)];
const UPGRADE = appUpgrade(V1, V2);
const DOC: PolicyDocument = {
  version: 3n,
  chainId: 31337n,
  contract: `0x${"cd".repeat(20)}`,
  revocations: [],
  apps: [FROM, TO],
  upgrade: UPGRADE,
};
/** The header, the empty revocations field and the apps field with two ids. */
const BEFORE_UPGRADE = 45 + 5 + 2 + 5 + 2 + 64;
/** One app of the body: name length, "tally", code hash, state version. */
const TALLY_BYTES = 1 + 5 + 32 + 4;

const refused = (bytes: Uint8Array, reason: RegExp) =>
  assert.throws(
    () => decodePolicy(bytes),
    (e: unknown) => e instanceof PolicyError && reason.test(e.message),
  );

/** The document's bytes with field 5's body replaced by `body`. */
const withBody = (body: Uint8Array, apps: Hex[] = [FROM, TO]) =>
  concat([encodePolicy({ ...DOC, apps, upgrade: undefined }), Uint8Array.of(5, 0, 0, 0, body.length), body]);
const bodyOf = (bytes: Uint8Array) => bytes.subarray(BEFORE_UPGRADE + 5);
/** The body of an upgrade of `from` to `to`, encoded as is (no check). */
const rawBody = (from: AppIdentity, to: AppIdentity) =>
  concat(
    [from, to].map((app) =>
      concat([
        Uint8Array.of(app.name.length),
        new TextEncoder().encode(app.name),
        hexToBytes(app.codeHash),
        hexToBytes(toHex(app.stateVersion, { size: 4 })),
      ]),
    ),
  );

describe("policy field 5: upgrade", () => {
  test("the layout: tag 5, each app in full (name, code hash, u32 state version); the ids follow", () => {
    const bytes = encodePolicy(DOC);
    assert.equal(bytes.length, BEFORE_UPGRADE + 5 + 2 * TALLY_BYTES);
    const field = bytes.subarray(BEFORE_UPGRADE);
    assert.equal(toHex(field.subarray(0, 5)), `0x05000000${(2 * TALLY_BYTES).toString(16)}`);
    assert.equal(toHex(bodyOf(bytes)), toHex(rawBody(V1, V2)));
    const decoded = decodePolicy(bytes).upgrade;
    assert.deepEqual(decoded, UPGRADE);
    assert.deepEqual([decoded?.from, decoded?.to, decoded?.fromVersion], [FROM, TO, 1]);
    assert.equal(decodePolicy(encodePolicy({ ...DOC, upgrade: undefined })).upgrade, undefined);
  });

  test("an upgrade keeps the app's name: one to an app of another name is refused by name, everywhere", () => {
    const message = /an upgrade keeps the app's name: app "tally" cannot become app "other"/;
    // Where the signers write it (the CLI's --migrate-app), where it is encoded, where it is decoded.
    assert.throws(() => appUpgrade(V1, OTHER), message);
    const forged = { ...UPGRADE, to: appIdOf(OTHER), toApp: OTHER };
    assert.throws(() => encodePolicy({ ...DOC, apps: [FROM, appIdOf(OTHER)], upgrade: forged }), message);
    refused(withBody(rawBody(V1, OTHER), [FROM, appIdOf(OTHER)]), message);
  });

  test("strict: two apps and nothing more, a higher state version, ids of the apps named, both admitted", () => {
    const body = bodyOf(encodePolicy(DOC));
    refused(withBody(body.subarray(0, body.length - 1)), /truncated/);
    refused(withBody(concat([body, Uint8Array.of(0)])), /two apps and nothing more/);
    refused(withBody(rawBody(V1, V1), [FROM]), /higher state version/);
    refused(withBody(rawBody(V2, { ...V1, codeHash: V2.codeHash })), /higher state version/);
    refused(withBody(rawBody({ ...V1, stateVersion: 0 }, V2)), /state versions are u32s from 1/);
    refused(withBody(rawBody({ ...V1, name: "1bad" }, { ...V2, name: "1bad" })), /must match/);
    refused(withBody(body, [FROM]), /names both its apps in apps/);
    assert.throws(() => encodePolicy({ ...DOC, apps: [TO] }), /names both its apps in apps/);
    // The ids stand for the apps named: another id beside them is refused.
    assert.throws(
      () => encodePolicy({ ...DOC, upgrade: { ...UPGRADE, to: FROM } }),
      /ids .* are those of its apps/,
    );
  });

  test("folded: a newer document replaces it, one without it or an older one leaves it", () => {
    const first = nextPolicyState(undefined, decodePolicy(encodePolicy(DOC)));
    assert.deepEqual(first.upgrade, DOC.upgrade);
    const later = nextPolicyState(first, { ...DOC, version: 4n, upgrade: undefined, apps: [TO] });
    assert.deepEqual(later.upgrade, DOC.upgrade, "absent: it stands");
    const other = appUpgrade(V2, { ...V2, stateVersion: 3 });
    const older = nextPolicyState(later, { ...DOC, version: 2n, upgrade: other });
    assert.deepEqual(older.upgrade, DOC.upgrade, "an older document changes none of the replaced fields");
    assert.deepEqual(nextPolicyState(later, { ...DOC, version: 5n, upgrade: other }).upgrade, other);
  });
});
