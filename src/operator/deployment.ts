// A network's deployment: the contract deployed to any chain, the owner's policy set, and the
// network profile (chain id, contract, deployment block, RPC) that nodes and clients start from.
// `anonify deploy` and both devnets deploy through here.
import { readFileSync } from "node:fs";
import type { Address, Hex } from "viem";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";
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
