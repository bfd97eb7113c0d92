// What the client reads on chain to decide which enclave it encrypts to, beyond the enclave's own
// evidence (enclave-evidence.ts): the measurements its profile trusts, and that the enclave is a
// member of the group as the chain's newest trusted handshake names it.
import type { Address } from "viem";
import { memberSetDigest } from "../protocol/digests.js";
import type { ChainChecks } from "./chain-checks.js";
import type { TrustedEnclaves } from "./enclave-evidence.js";
import type { EnclavePolicy } from "./enclave-policy.js";
import { AnonifyClientError } from "./errors.js";
import type { ProfileTrust } from "./network-profile-format.js";

/**
 * `policy` with what the profile trusts: the measurements of the deployment's builds it names, and,
 * with its policy keys, what the documents they signed say (read from the chain, verified here):
 * the measurements they admit (where the policy takes only pinned ones), the highest SEV-SNP VMPL
 * they admit, and the enclaves they revoked, which the client then refuses as members remove them, before the chain or the group does.
 */
export async function withProfileTrust(
  policy: EnclavePolicy,
  trust: ProfileTrust | undefined,
  onChain: ChainChecks,
): Promise<EnclavePolicy> {
  if (!trust) return policy;
  const signed = trust.policyKeys ? await onChain.signedPolicy(trust.policyKeys) : undefined;
  const pinning = policy.measurements !== undefined || policy.requireMeasurement === true;
  const admitted = [...trust.measurements, ...(signed?.measurements.map((m) => m.measurement) ?? [])];
  return {
    ...policy,
    ...(pinning ? { measurements: [...(policy.measurements ?? []), ...admitted] } : {}),
    ...(signed?.revocations.length ? { revoked: [...(policy.revoked ?? []), ...signed.revocations] } : {}),
    // A signed document may admit a higher VMPL (an SVSM deployment), as members take it; never lower.
    ...(policy.maxVmpl !== undefined && signed?.maxVmpl !== undefined
      ? { maxVmpl: Math.max(policy.maxVmpl, signed.maxVmpl) }
      : {}),
  };
}

/**
 * `enclave_not_member` unless `enclave` is a member of the group as the chain's newest handshake by
 * an enclave this client trusts names it: the node says who the members are, and its list must be
 * the one that handshake commits to (a node that lies, or is behind, is refused: liveness only).
 * Without it a client could encrypt to an enclave the group removed, or never added, that is still
 * active on the contract.
 */
export async function checkMember(
  onChain: ChainChecks,
  trusted: TrustedEnclaves,
  enclave: Address,
  members: readonly Address[],
  node: string,
): Promise<void> {
  const named = await onChain.memberSet((committer) => trusted.trusts(committer));
  const refuse = (why: string) =>
    new AnonifyClientError(
      "enclave_not_member",
      `enclave ${enclave} is not shown to be a member of the group: ${why}`,
    );
  // No handshake yet: the group is its creator alone, and no member was ever removed. An enclave the
  // node names that is not the creator could open the command and not apply it: liveness only.
  if (named === null) {
    if (!members.includes(enclave.toLowerCase() as Address)) throw refuse(`${node} does not list it`);
    return;
  }
  if (!named) throw refuse("no recent handshake on chain is by an enclave this client trusts");
  if (memberSetDigest(members) !== named.digest)
    throw refuse(
      `${node} lists members that are not the ones the handshake of slot ${named.slot} names (a node behind the chain, or one that lies)`,
    );
  if (!members.includes(enclave.toLowerCase() as Address))
    throw refuse(`the handshake of slot ${named.slot} names ${members.length} members, not it`);
}
