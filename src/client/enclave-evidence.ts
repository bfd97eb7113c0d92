// The client judges an enclave's evidence itself before it encrypts to it, and before it believes a
// receipt of a batch that enclave submitted: nobody but the hardware roots pinned in this code and the
// chain is trusted. The attestation service's signature and the contract's record are the gas-level
// gate (an owner can name any signer and register any "enclave"); they are not what a client's
// confidentiality rests on. The evidence comes from the enclave's `EnclaveRegistered` event, DCAP
// collateral from the `CollateralPublished` events (the freshest set for the quote that verifies to
// the pinned Intel root), both read from the chain of the user's network profile.
import { type Address, type Hex, hexToBytes, keccak256 } from "viem";
import { boundVerdictRefusal } from "../attestation/bound-evidence.js";
import type { PlatformName, Verdict } from "../attestation/verdict.js";
import { enclaveBinding, type LedgerDomain } from "../protocol/digests.js";
import { type EnclavePolicy, type EnclaveVerdict, verdictRefusal } from "./enclave-policy.js";
import { AnonifyClientError } from "./errors.js";
import { verifierFor } from "./verifiers.js";

/** An enclave's registration as its `EnclaveRegistered` event carries it. */
export type Registration = {
  address: Address;
  platform: PlatformName;
  hpkePublicKey: Hex;
  app: Hex;
  evidence: Hex;
};

/** Where the evidence and its collateral come from: the chain (`ChainChecks`), or a test's own. */
export type EvidenceSource = {
  /** Whether the contract holds the enclave as active (not revoked, not left). */
  isActive(address: Address): Promise<boolean>;
  registration(address: Address): Promise<Registration | undefined>;
  /** The collateral (Intel PCS JSON shape) that judges this DCAP quote, if any verified set was published. */
  collateral(platform: PlatformName, evidence: Hex): Promise<unknown>;
};

/** How long a verified verdict is reused for the same evidence and collateral. */
const VERDICT_TTL_MS = 10 * 60 * 1000;
const MAX_CACHED_VERDICTS = 256;

/**
 * Verdicts of evidence that verified, by platform, evidence and collateral: every client of a page or
 * process shares them (a verdict depends on nothing else but the time, bounded by the TTL). Only
 * successes are kept; the policy and the binding are checked every time.
 */
export class VerdictCache {
  private readonly held = new Map<string, { verdict: Verdict; at: number }>();

  async verified(platform: PlatformName, evidence: Hex, collateral: unknown, now: Date): Promise<Verdict> {
    const key = `${platform}:${keccak256(evidence)}:${collateral === undefined ? "none" : keccak256(new TextEncoder().encode(JSON.stringify(collateral)))}`;
    const hit = this.held.get(key);
    if (hit && now.getTime() - hit.at < VERDICT_TTL_MS && now.getTime() >= hit.at) return hit.verdict;
    const verdict = await (await verifierFor(platform))(hexToBytes(evidence), { now, collateral });
    if (this.held.size >= MAX_CACHED_VERDICTS) this.held.clear();
    this.held.set(key, { verdict, at: now.getTime() });
    return verdict;
  }
}

export const SHARED_VERDICTS = new VerdictCache();

const refuse = (address: Address, why: string) =>
  new AnonifyClientError("enclave_not_allowed", `enclave ${address} is refused: ${why}`);

/**
 * Judges the enclave at `address` as `policy` says, from its evidence on chain: `enclave_not_allowed`
 * naming the first rule it breaks (no registration event, evidence that does not verify to a pinned
 * root, another platform, a binding to another key, app, chain or contract, then the policy's rules).
 */
export async function judgeEnclave(
  source: EvidenceSource,
  domain: LedgerDomain,
  address: Address,
  policy: EnclavePolicy,
  options: { now?: Date; cache?: VerdictCache } = {},
): Promise<{ verdict: EnclaveVerdict; registration: Registration }> {
  const now = options.now ?? new Date();
  if (!(await source.isActive(address)))
    throw new AnonifyClientError(
      "enclave_not_active",
      `enclave ${address} is not an active enclave of the contract`,
    );
  const registration = await source.registration(address);
  if (!registration) throw refuse(address, "the chain holds no registration event of it");
  const { platform, evidence } = registration;
  // Refused before any verification: what the policy refuses whatever the evidence says.
  if (platform === "sim" && !policy.allowSimulated)
    throw refuse(
      address,
      "it runs on the simulated TEE platform, which protects nothing, and the policy does not allow it",
    );
  if (policy.platforms && !policy.platforms.includes(platform))
    throw refuse(
      address,
      `its platform ${platform} is not one the policy allows (${policy.platforms.join(", ")})`,
    );
  let verdict: Verdict;
  try {
    const collateral = await source.collateral(platform, evidence);
    verdict = await (options.cache ?? SHARED_VERDICTS).verified(platform, evidence, collateral, now);
  } catch (error) {
    if (error instanceof AnonifyClientError) throw error;
    throw refuse(address, `its evidence does not verify: ${(error as Error).message}`);
  }
  const binding = enclaveBinding(domain, address, registration.hpkePublicKey, registration.app);
  const unbound = boundVerdictRefusal(verdict, platform, binding);
  if (unbound) throw refuse(address, unbound);
  const judged: EnclaveVerdict = {
    address,
    platform,
    measurement: `0x${verdict.measurement}`,
    tcbStatus: verdict.tcbStatus,
    advisoryIds: verdict.advisoryIds,
    debug: verdict.debug || platform === "sim",
    simulated: platform === "sim",
    app: registration.app,
  };
  const refusal = verdictRefusal(policy, judged);
  if (refusal) throw refuse(address, refusal);
  return { verdict: judged, registration };
}

/**
 * The enclaves one client trusts, each judged once from its evidence on chain: the one it encrypts
 * to, and every one that submitted a batch whose receipt it is shown.
 */
export class TrustedEnclaves {
  private readonly judged = new Map<
    string,
    Promise<{ verdict: EnclaveVerdict; registration: Registration }>
  >();

  constructor(
    private readonly source: EvidenceSource,
    private readonly domain: LedgerDomain,
    readonly policy: EnclavePolicy,
    private readonly now?: () => Date,
  ) {}

  /** The enclave's verdict and registration, or `enclave_not_active` / `enclave_not_allowed`. */
  judge(address: Address): Promise<{ verdict: EnclaveVerdict; registration: Registration }> {
    const key = address.toLowerCase();
    let judging = this.judged.get(key);
    if (!judging) {
      judging = judgeEnclave(this.source, this.domain, address, this.policy, { now: this.now?.() });
      // A refusal is not kept: the chain may hold the collateral or the registration later.
      judging.catch(() => this.judged.delete(key));
      this.judged.set(key, judging);
    }
    return judging;
  }

  /** Whether the enclave passes this client's policy (its signed claims count, its batches' receipts are taken). */
  async trusts(address: Address): Promise<boolean> {
    try {
      await this.judge(address);
      return true;
    } catch (error) {
      if (error instanceof AnonifyClientError) return false;
      throw error;
    }
  }

  /** `untrusted_batch` unless the enclave that submitted a receipt's batch passes this client's policy. */
  async trustSubmitter(address: Address): Promise<void> {
    try {
      await this.judge(address);
    } catch (error) {
      if (!(error instanceof AnonifyClientError)) throw error;
      throw new AnonifyClientError(
        "untrusted_batch",
        `the receipt's batch was submitted by enclave ${address}, which this client does not trust: ${error.message}`,
      );
    }
  }
}
