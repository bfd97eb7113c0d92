// The collateral the chain holds for evidence (Intel's for a DCAP quote, AMD's CRLs for a SEV-SNP
// report), found as a member enclave finds it
// (src/attestation/held-collateral.ts): a client judges a node's evidence with it, and a node's host
// sends it with its own quote to the attestation service.
import { type Address, encodeEventTopics, type Hex } from "viem";
import { getBlockNumber } from "viem/actions";
import type { HeldCollateral } from "../attestation/held-collateral.js";
import type { PlatformName } from "../attestation/verdict.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import type { ChainClient } from "./chain-client.js";
import { contractLogs } from "./contract-logs.js";

/**
 * Of the sets published for this quote's platform, FMSPC and PCK CA (a SEV-SNP report's product)
 * since `deployedAtBlock`, the freshest that verifies to `rootCertificatePem` (the pinned Intel root
 * or AMD ARKs when omitted); undefined for other platforms or when none was published. A set another PKI signed is passed over, as members
 * pass it over: anyone may publish, so none can stand in for the genuine one.
 */
export async function publishedCollateral(
  chain: ChainClient,
  target: { contract: Address; deployedAtBlock?: bigint },
  platform: PlatformName,
  evidence: Hex,
  rootCertificatePem?: string,
): Promise<unknown> {
  if (platform !== "sgx" && platform !== "tdx" && platform !== "sev-snp") return undefined;
  // Loaded on first use: DCAP's parsers and PKI are the larger part of the verifiers.
  const { applyCollateral, collateralFor, collateralKeyOf, collateralKeyOfEvidence } = await import(
    "../attestation/held-collateral.js"
  );
  const wanted = collateralKeyOfEvidence(platform, evidence);
  if (wanted === undefined) return undefined;
  let held: Readonly<Record<string, HeldCollateral>> = {};
  const topics = encodeEventTopics({ abi: anonifyAbi, eventName: "CollateralPublished" });
  const head = await getBlockNumber(chain, { cacheTime: 0 });
  const logs = contractLogs(chain, target.contract, topics, target.deployedAtBlock ?? 0n, head);
  for await (const { decoded, block, logIndex } of logs) {
    if (decoded.eventName !== "CollateralPublished") continue;
    const { collateral } = decoded.args;
    if (collateralKeyOf(collateral, rootCertificatePem) !== wanted) continue; // another quote's: not verified here
    held = applyCollateral(held, { collateral, block: String(block), logIndex }, rootCertificatePem).held;
  }
  return collateralFor(held, platform, evidence)?.collateral;
}
