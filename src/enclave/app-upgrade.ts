// Upgrades with migrations: a signed policy document names the network's app `from` upgraded to `to`,
// another shape of state (field 5, src/protocol/policy-upgrade.ts). Its `PolicyPublished` is the
// upgrade position: every enclave applies the one event sequence, so every member agrees on it.
//
// - An enclave of `from` is retired there: it applies no batch after it (each counts as void, as a
//   non-member's does), takes no command, seals no batch and answers no query (`upgraded`, naming the
//   app to run), and every command it accepted that was not ordered before the position gets a failed
//   receipt, `upgraded` (retired-commands.ts); it keeps following the group (so its members add
//   the joiners of `to`) and, while no batch of a `to` member was ordered, captures for them its
//   state as of the upgrade position, with the counts of the chain since.
// - An enclave of `to` joins after the position and installs such a snapshot (or one of a `to`
//   member): one of `from`'s state, checked against `from`'s state digest, it migrates (`migrate` of
//   src/app/app.ts) once, as it installs it. After the position, a batch of a `from` enclave is void
//   for it: no command of `from`'s era is applied with `to`'s handlers.
// - The two sides' state digests differ (they name another app state): after the position neither
//   compares its digests with the other side's, so neither takes the other for a fork; each still
//   checks every signature against its own history.
import type { Hex } from "viem";
import type { AppUpgrade } from "../protocol/policy-document.js";
import type { RegistryView } from "./registry.js";

/** Where the network's app was upgraded and to what: what a retired enclave reports (`GroupView.upgraded`). */
export type Retirement = { seq: string; to: Hex; reason: string };

/** The upgrade in force in `registry`, with its position, if any. */
export function upgradeIn(
  registry: RegistryView,
): (AppUpgrade & { at: { seq: bigint; head: Hex } }) | undefined {
  const upgrade = registry.policy?.upgrade;
  const at = registry.policy?.upgradedAt;
  return upgrade && at ? { ...upgrade, at } : undefined;
}

/** Whether the enclave running app `own` is retired in `registry`: its app was upgraded away from. */
export function retirementIn(registry: RegistryView, own: Hex): Retirement | undefined {
  const upgrade = upgradeIn(registry);
  if (!upgrade || upgrade.from !== own.toLowerCase()) return undefined;
  return {
    seq: upgrade.at.seq.toString(),
    to: upgrade.to,
    reason:
      `the network's app was upgraded at event ${upgrade.at.seq} to app ${upgrade.to}: this node's app ` +
      `applies nothing after it; run the new version on a fresh data directory`,
  };
}

/** Whether `enclave` (by its registration) runs the app an upgrade in force retired. */
const runsRetired = (registry: RegistryView, enclave: Hex): boolean => {
  const upgrade = upgradeIn(registry);
  return upgrade !== undefined && registry.enclaves[enclave.toLowerCase()]?.app === upgrade.from;
};

/**
 * Whether `enclave`'s state digests are comparable with those of this enclave (app `own`): always,
 * but across an upgrade in force, where one side runs the retired app and the other does not.
 */
export function sameStateShape(registry: RegistryView, own: Hex, enclave: Hex): boolean {
  const upgrade = upgradeIn(registry);
  if (!upgrade) return true;
  return runsRetired(registry, enclave) === (upgrade.from === own.toLowerCase());
}

/**
 * The members whose batches apply at this enclave (app `own`): none once it is retired; after an
 * upgrade to another app, those that do not run the retired one.
 */
export function applyingMembers(
  registry: RegistryView,
  own: Hex,
  members: ReadonlySet<string> | undefined,
): ReadonlySet<string> | undefined {
  if (!members || !upgradeIn(registry)) return members;
  if (retirementIn(registry, own)) return new Set();
  return new Set([...members].filter((m) => !runsRetired(registry, m as Hex)));
}

/**
 * Whether a batch of `enclave`, a member, moves the state past what a retired enclave holds: it runs
 * the app upgraded to. From then on the retired enclave captures no snapshot for joiners.
 */
export function successorBatch(registry: RegistryView, enclave: Hex, isMember: boolean): boolean {
  const upgrade = upgradeIn(registry);
  return isMember && upgrade !== undefined && registry.enclaves[enclave.toLowerCase()]?.app === upgrade.to;
}
