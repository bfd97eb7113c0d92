// Field 5 of a signed policy document (src/protocol/policy-document.ts): the network's app upgraded to
// a new version of it whose state has another shape. It names both apps in full (name, code hash,
// state version), not by id alone: an app id is a hash (`appIdOf`), and only the full identities let
// every enclave check what the signers named — that both are one app, by name, the new one at a
// higher state version. Byte layout of its body (big-endian, strict), each app in turn, `from` first:
//
//   size  field
//   1     n            the name's length in bytes, 1 to 64
//   n     name         ASCII, `NAME_PATTERN` of src/app/app.ts
//   32    codeHash     the app bundle's code hash
//   4     stateVersion u32 ≥ 1; `to`'s above `from`'s
//
// `from` is the app id the network ran until this document, `to` the one it runs from this document
// on (both derived, `appIdOf`); `fromVersion` is what `to`'s `migrate` reads. An upgrade keeps the
// app's name: one whose apps have two names is refused by name (`PolicyError`), at encoding and at
// decoding. The document naming it must name both apps in `apps` (field 4): each side admits the
// other to the group, so members of `from` add the joiners of `to`. Where it takes effect is the
// document's place in the event sequence (its `PolicyPublished`): src/enclave/app-upgrade.ts.
import { type Hex, hexToBytes } from "viem";
import { NAME_PATTERN } from "../app/app.js";
import { hexOf } from "./bytes.js";
import { type AppIdentity, appIdOf } from "./digests.js";
import { PolicyError } from "./policy-document.js";

const NAME_LENGTH_BYTES = 1;
const CODE_HASH_BYTES = 32;
const STATE_VERSION_BYTES = 4;
const U32_MAX = 0xffffffff;

/**
 * The network's app upgraded to a new version of it whose state has another shape: `fromApp` to
 * `toApp`, and their ids (`from`, `to`: lower case, `appIdOf`) and `from`'s state version
 * (`fromVersion`), which follow from them.
 */
export type AppUpgrade = {
  from: Hex;
  to: Hex;
  fromVersion: number;
  fromApp: AppIdentity;
  toApp: AppIdentity;
};

/** The upgrade of `fromApp` to `toApp`, checked (`checkUpgrade`, with no `apps` to be named in). */
export function appUpgrade(fromApp: AppIdentity, toApp: AppIdentity): AppUpgrade {
  const upgrade = {
    from: appIdOf(fromApp),
    to: appIdOf(toApp),
    fromVersion: fromApp.stateVersion,
    fromApp: { ...fromApp, codeHash: fromApp.codeHash.toLowerCase() as Hex },
    toApp: { ...toApp, codeHash: toApp.codeHash.toLowerCase() as Hex },
  };
  checkApps(upgrade);
  return upgrade;
}

/** The field's body for `upgrade`, checked (`checkUpgrade`) against the document's `apps`. */
export function upgradeBody(upgrade: AppUpgrade, apps: readonly Hex[] | undefined): Uint8Array {
  checkUpgrade(upgrade, apps);
  const parts = [upgrade.fromApp, upgrade.toApp].map(appBytes);
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  body.set(parts[0]!, 0);
  body.set(parts[1]!, parts[0]!.length);
  return body;
}

function appBytes(app: AppIdentity): Uint8Array {
  const name = new TextEncoder().encode(app.name);
  const bytes = new Uint8Array(NAME_LENGTH_BYTES + name.length + CODE_HASH_BYTES + STATE_VERSION_BYTES);
  bytes[0] = name.length;
  bytes.set(name, NAME_LENGTH_BYTES);
  bytes.set(hexToBytes(app.codeHash), NAME_LENGTH_BYTES + name.length);
  new DataView(bytes.buffer).setUint32(bytes.length - STATE_VERSION_BYTES, app.stateVersion);
  return bytes;
}

/** Each app well formed, one name, a higher state version for `to`. */
function checkApps(upgrade: Pick<AppUpgrade, "fromApp" | "toApp">): void {
  const { fromApp, toApp } = upgrade;
  for (const app of [fromApp, toApp]) {
    if (!NAME_PATTERN.test(app.name))
      throw new PolicyError(`an upgrade's app name ${JSON.stringify(app.name)} must match ${NAME_PATTERN}`);
    if (!/^0x[0-9a-fA-F]{64}$/.test(app.codeHash))
      throw new PolicyError("an upgrade's code hashes are 32 bytes");
    if (!Number.isInteger(app.stateVersion) || app.stateVersion < 1 || app.stateVersion > U32_MAX)
      throw new PolicyError("an upgrade's state versions are u32s from 1");
  }
  if (fromApp.name !== toApp.name)
    throw new PolicyError(
      `an upgrade keeps the app's name: app ${JSON.stringify(fromApp.name)} cannot become app ${JSON.stringify(toApp.name)}`,
    );
  if (toApp.stateVersion <= fromApp.stateVersion)
    throw new PolicyError(
      `an upgrade goes to a higher state version: ${fromApp.name} v${fromApp.stateVersion} cannot become v${toApp.stateVersion}`,
    );
}

/**
 * An upgrade names one app (by name) at two state versions, the second higher, its ids are those
 * of its apps, and the document admits both.
 */
export function checkUpgrade(upgrade: AppUpgrade, apps: readonly Hex[] | undefined): void {
  checkApps(upgrade);
  if (
    upgrade.from.toLowerCase() !== appIdOf(upgrade.fromApp) ||
    upgrade.to.toLowerCase() !== appIdOf(upgrade.toApp) ||
    upgrade.fromVersion !== upgrade.fromApp.stateVersion
  )
    throw new PolicyError("an upgrade's app ids and from state version are those of its apps");
  const admitted = new Set((apps ?? []).map((a) => a.toLowerCase()));
  if (!admitted.has(upgrade.from.toLowerCase()) || !admitted.has(upgrade.to.toLowerCase()))
    throw new PolicyError("a document naming an upgrade names both its apps in apps");
}

/** One app of the body from `offset`, and where the next begins. */
function readApp(body: Uint8Array, offset: number): { app: AppIdentity; next: number } {
  const length = body[offset];
  if (length === undefined) throw new PolicyError("an upgrade names two apps: truncated");
  const codeAt = offset + NAME_LENGTH_BYTES + length;
  const next = codeAt + CODE_HASH_BYTES + STATE_VERSION_BYTES;
  if (next > body.length) throw new PolicyError("an upgrade names two apps: truncated");
  const name = String.fromCharCode(...body.subarray(offset + NAME_LENGTH_BYTES, codeAt));
  const codeHash = hexOf(body.subarray(codeAt, codeAt + CODE_HASH_BYTES));
  const stateVersion = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(
    next - STATE_VERSION_BYTES,
  );
  return { app: { name, codeHash, stateVersion }, next };
}

/** The field's body, strictly: two apps and nothing after them, checked as `checkUpgrade` does. */
export function decodeUpgrade(body: Uint8Array, apps: readonly Hex[] | undefined): AppUpgrade {
  const from = readApp(body, 0);
  const to = readApp(body, from.next);
  if (to.next !== body.length) throw new PolicyError("an upgrade names two apps and nothing more");
  const upgrade = appUpgrade(from.app, to.app);
  checkUpgrade(upgrade, apps);
  return upgrade;
}
