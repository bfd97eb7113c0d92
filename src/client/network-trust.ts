// What a client checks of a network before it takes any of its word, with or without an account:
// the RPC serves the profile's chain (`wrong_chain`), the node names that chain and contract
// (`wrong_network`), the enclave the node names is registered on chain and allowed by the client's
// policy (`enclave_not_active`, `enclave_not_allowed`) and a member of the group, and the app the
// node names is the one that enclave registered with (`wrong_app`). `AnonifyClient.connect` builds
// on it; so does a reader of public outputs that holds no key (outputs-reader.ts).
import { getAddress, type Hex } from "viem";
import { getChainId } from "viem/actions";
import type { Schema } from "../app/schema.js";
import type { AppIdentity, LedgerDomain } from "../protocol/digests.js";
import { ChainChecks } from "./chain-checks.js";
import { chainClient, rpcOrigin } from "./chain-client.js";
import type { AnonifyClientOptions } from "./client-options.js";
import { TrustedEnclaves } from "./enclave-evidence.js";
import { defaultPolicyName, ENCLAVE_POLICIES, type EnclaveVerdict } from "./enclave-policy.js";
import { checkMember, withProfileTrust } from "./enclave-trust.js";
import { AnonifyClientError } from "./errors.js";
import { registeredApp } from "./network-app.js";
import { checkNodeNetwork, NODE_ENCLAVE, NODE_STATUS } from "./node-api.js";

/** The options the checks use: a client's, less its account and what it asks. */
export type NetworkOptions = Pick<
  AnonifyClientOptions,
  "network" | "node" | "enclavePolicy" | "now" | "confirmations"
>;

/** One request to the node, answered as `schema` (with the caller's retries). */
export type NodeAsk = <T>(path: string, schema: Schema<T>) => Promise<T>;

/** A network once checked: what receipts, answers and public outputs are then checked against. */
export type TrustedNetwork = {
  domain: LedgerDomain;
  onChain: ChainChecks;
  trusted: TrustedEnclaves;
  /** The node's enclave, judged, and the HPKE key it registered. */
  served: EnclaveVerdict;
  enclaveKey: Hex;
  /** The app the network runs, as its enclave registered it. */
  runs: AppIdentity;
};

/** Checks the network as the header says; `fetcher` makes every request to the chain. */
export async function trustNetwork(
  options: NetworkOptions,
  fetcher: typeof globalThis.fetch,
  ask: NodeAsk,
): Promise<TrustedNetwork> {
  const { network } = options;
  const policy = options.enclavePolicy ?? ENCLAVE_POLICIES[defaultPolicyName(network.chainId)];
  const chain = chainClient(network.rpcUrl, { fetch: fetcher });
  const chainId = await getChainId(chain);
  if (chainId !== network.chainId) {
    throw new AnonifyClientError(
      "wrong_chain",
      `the RPC ${rpcOrigin(network.rpcUrl)} serves chain ${chainId}, not the profile's chain ${network.chainId}`,
    );
  }
  const status = await ask("/v1/status", NODE_STATUS);
  checkNodeNetwork(status, network, options.node);
  const enclave = await ask("/v1/enclave", NODE_ENCLAVE);
  const address = getAddress(enclave.address);
  const domain = { chainId, contract: network.contract };
  // Claims count only from enclaves this client trusts, judged as the one it encrypts to.
  const onChain: ChainChecks = new ChainChecks(chain, network, options.confirmations, (enclave) =>
    trusted.trusts(enclave),
  );
  const trusted = new TrustedEnclaves(
    onChain,
    domain,
    await withProfileTrust(policy, network.trust, onChain),
    options.now,
  );
  const { verdict, registration } = await trusted.judge(address);
  await checkMember(onChain, trusted, address, status.members, options.node);
  const runs = registeredApp(status.app, registration.app, address, options.node);
  return { domain, onChain, trusted, served: verdict, enclaveKey: registration.hpkePublicKey, runs };
}
