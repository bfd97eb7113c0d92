// A network's deployment: the contract deployed to any chain, the owner's policy set, and the
// network profile (chain id, contract, deployment block, RPC) that nodes and clients start from.
// `anonify deploy` and both devnets deploy through here.
import { readFileSync } from "node:fs";
import type { Address, Hex } from "viem";
import { builtAppBundle, DEFAULT_ENCLAVE_BUNDLE, readBundleInfo } from "../build/enclave-bundle.js";
import { deployAnonifyMined, type LedgerWallet } from "../chain/chain.js";
import type { NetworkProfile } from "../client/network-profile.js";
import { applyPolicies, type PolicyAction, type PolicyChange } from "./owner-policy.js";

/** What the owner allows from the start: attestation signers, measurements, debug (and simulated) enclaves. */
export type InitialPolicy = {
  trustSigners?: readonly Address[];
  allowMeasurements?: readonly Hex[];
  debugAllowed?: boolean;
};

/** The measurement of the default enclave bundle (`npm run build` writes it beside the bundle). */
export function defaultMeasurement(): Hex {
  return (JSON.parse(readFileSync(`${DEFAULT_ENCLAVE_BUNDLE}.json`, "utf8")) as { measurement: Hex })
    .measurement;
}

/**
 * The bundle `npm run build` made for `app` (the default build without one): its file, measurement
 * and the name of the app it runs; `unknown_app` naming the apps built if there is none.
 */
export function builtBundle(app?: string): { path: string; measurement: Hex; app: string } {
  const path = app === undefined ? DEFAULT_ENCLAVE_BUNDLE : builtAppBundle(app);
  const info = readBundleInfo(path);
  return { path, measurement: info.measurement, app: info.app.name };
}

export function policyActions(policy: InitialPolicy): PolicyAction[] {
  return [
    ...(policy.trustSigners ?? []).map((signer): PolicyAction => ({ kind: "signer", signer, trusted: true })),
    ...(policy.allowMeasurements ?? []).map(
      (measurement): PolicyAction => ({ kind: "measurement", measurement, allowed: true }),
    ),
    ...(policy.debugAllowed === undefined ? [] : [{ kind: "debug", allowed: policy.debugAllowed } as const]),
  ];
}

export type Deployment = { profile: NetworkProfile; transaction: Hex; policy: PolicyChange[] };

/** Deploys the contract with `owner` as its owner, then sets `policy`. */
export async function deployNetwork(owner: LedgerWallet, policy: InitialPolicy): Promise<Deployment> {
  const { contract, receipt } = await deployAnonifyMined(owner);
  const changes = await applyPolicies(owner, contract, policyActions(policy));
  return {
    profile: {
      chainId: owner.chain.id,
      contract,
      deployedAtBlock: receipt.blockNumber,
      rpcUrl: owner.rpcUrl,
    },
    transaction: receipt.transactionHash,
    policy: changes,
  };
}
