// Field 5 of a signed policy document (src/protocol/policy-document.ts): the network's app upgraded to
// another whose state has another shape. Byte layout of its body (68 bytes, big-endian, strict):
//
//   offset  size  field
//   0       32    from         the app id (`appIdOf`) the network ran until this document
//   32      32    to           the app id it runs from this document on; not `from`
//   64      4     fromVersion  u32 ≥ 1: `from`'s state version, what `to`'s `migrate` reads
//
// The document naming it must name both apps in `apps` (field 4): each side admits the other to the
// group, so members of `from` add the joiners of `to`. Where it takes effect is the document's place
// in the event sequence (its `PolicyPublished`): src/enclave/app-upgrade.ts.
import { type Hex, hexToBytes } from "viem";
import { hexOf } from "./bytes.js";
import { PolicyError } from "./policy-document.js";

const APP_ID_BYTES = 32;
const STATE_VERSION_BYTES = 4;
const UPGRADE_BYTES = 2 * APP_ID_BYTES + STATE_VERSION_BYTES;
const U32_MAX = 0xffffffff;

/**
 * The network's app upgraded to another whose state has another shape: `from` (whose state version is
 * `fromVersion`) to `to`, app ids lower case (`appIdOf`).
 */
export type AppUpgrade = { from: Hex; to: Hex; fromVersion: number };

/** The field's body for `upgrade`, checked (`checkUpgrade`) against the document's `apps`. */
export function upgradeBody(upgrade: AppUpgrade, apps: readonly Hex[] | undefined): Uint8Array {
  checkUpgrade(upgrade, apps);
  const body = new Uint8Array(UPGRADE_BYTES);
  body.set(hexToBytes(upgrade.from), 0);
  body.set(hexToBytes(upgrade.to), APP_ID_BYTES);
  new DataView(body.buffer).setUint32(2 * APP_ID_BYTES, upgrade.fromVersion);
  return body;
}

/** An upgrade names two different apps of 32 bytes, a state version ≥ 1, and the document admits both. */
export function checkUpgrade(upgrade: AppUpgrade, apps: readonly Hex[] | undefined): void {
  if (hexToBytes(upgrade.from).length !== APP_ID_BYTES || hexToBytes(upgrade.to).length !== APP_ID_BYTES)
    throw new PolicyError("an upgrade's app ids are 32 bytes");
  if (upgrade.from.toLowerCase() === upgrade.to.toLowerCase())
    throw new PolicyError("an upgrade names two different apps");
  if (!Number.isInteger(upgrade.fromVersion) || upgrade.fromVersion < 1 || upgrade.fromVersion > U32_MAX)
    throw new PolicyError("an upgrade's from state version is a u32 from 1");
  const admitted = new Set((apps ?? []).map((a) => a.toLowerCase()));
  if (!admitted.has(upgrade.from.toLowerCase()) || !admitted.has(upgrade.to.toLowerCase()))
    throw new PolicyError("a document naming an upgrade names both its apps in apps");
}

/** The field's body, strictly: its length, two different app ids both in `apps`, a version ≥ 1. */
export function decodeUpgrade(body: Uint8Array, apps: readonly Hex[] | undefined): AppUpgrade {
  if (body.length !== UPGRADE_BYTES) throw new PolicyError(`an upgrade is ${UPGRADE_BYTES} bytes`);
  const upgrade = {
    from: hexOf(body.subarray(0, APP_ID_BYTES)),
    to: hexOf(body.subarray(APP_ID_BYTES, 2 * APP_ID_BYTES)),
    fromVersion: new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(2 * APP_ID_BYTES),
  };
  checkUpgrade(upgrade, apps);
  return upgrade;
}
