// The client judges an enclave's evidence itself before it encrypts to it, and before it believes a
// receipt of a batch that enclave submitted: nobody but the hardware roots pinned in this code and the
// chain is trusted. The attestation service's signature and the contract's record are the gas-level
// gate (an owner can name any signer and register any "enclave"); they are not what a client's
// confidentiality rests on. The evidence comes from the enclave's `EnclaveRegistered` event, DCAP
// collateral from the `CollateralPublished` events (the freshest set for the quote that verifies to
// the pinned Intel root), both read from the chain of the user's network profile.
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";
import { boundVerdictRefusal } from "../attestation/bound-evidence.js";
import { rootOverrideFor } from "../attestation/root-overrides.js";
import { type PlatformName, type Verdict, VerificationError } from "../attestation/verdict.js";
import { enclaveBinding, type LedgerDomain } from "../protocol/digests.js";
import {
  type EnclavePolicy,
  type EnclaveVerdict,
  platformRefusal,
  verdictRefusal,
} from "./enclave-policy.js";
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
  /**
   * The collateral (Intel PCS JSON shape) that judges this DCAP quote, if any set that verifies to the
   * pinned root (or `rootCertificatePem`, when the client's policy replaces it) was published.
   */
  collateral(platform: PlatformName, evidence: Hex, rootCertificatePem?: string): Promise<unknown>;
};

/** How long a verified verdict is reused for the same evidence and collateral. */
const VERDICT_TTL_MS = 10 * 60 * 1000;
const MAX_CACHED_VERDICTS = 256;

/**
 * Verdicts of evidence that verified, by platform, evidence and collateral: every client of a page or
 * process shares them. A verdict depends on the time too (certificate and collateral windows): one is
 * reused for VERDICT_TTL_MS at most, so it may outlive a window by that much. Only successes are
 * kept; the policy and the binding are checked every time.
 */
class VerdictCache {
  private readonly held = new Map<string, { verdict: Verdict; at: number }>();

  async verified(
    platform: PlatformName,
    evidence: Hex,
    collateral: unknown,
    now: Date,
    rootCertificatePem?: string,
  ): Promise<Verdict> {
    // SHA-256, not keccak: ~5x faster in JavaScript over tens of KiB of collateral, on every check.
    const collateralKey =
      collateral === undefined ? "none" : bytesToHex(sha256(utf8ToBytes(JSON.stringify(collateral))));
    // A verdict under a replaced root is another verdict: the root is part of the key.
    const root =
      rootCertificatePem === undefined ? "pinned" : bytesToHex(sha256(utf8ToBytes(rootCertificatePem)));
    const key = `${platform}:${bytesToHex(sha256(hexToBytes(evidence)))}:${collateralKey}:${root}`;
    const hit = this.held.get(key);
    if (hit && now.getTime() >= hit.at && now.getTime() - hit.at < VERDICT_TTL_MS) return hit.verdict;
    const verify = await verifierFor(platform).catch((error: unknown) => {
      // A verifier that does not load here (a chunk the page could not fetch): refused, never skipped.
      throw new VerificationError(`this client cannot verify ${platform} evidence here (${String(error)})`);
    });
    const verdict = await verify(hexToBytes(evidence), { now, collateral, rootCertificatePem });
    if (this.held.size >= MAX_CACHED_VERDICTS) this.held.clear();
    this.held.set(key, { verdict, at: now.getTime() });
    return verdict;
  }
}

const SHARED_VERDICTS = new VerdictCache();

/** What the client concludes of a registered enclave from its verified evidence: what its policy judges. */
export function enclaveVerdict(registration: Registration, verdict: Verdict): EnclaveVerdict {
  const simulated = registration.platform === "sim";
  return {
    address: registration.address,
    platform: registration.platform,
    measurement: `0x${verdict.measurement}`,
    tcbStatus: verdict.tcbStatus,
    advisoryIds: verdict.advisoryIds,
    // A simulated quote's debug bit means nothing: anyone may hold its key, so it counts as debug.
    debug: verdict.debug || simulated,
    simulated,
    app: registration.app,
    ...(verdict.vmpl === undefined ? {} : { vmpl: verdict.vmpl }),
  };
}

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
  options: { now?: Date } = {},
): Promise<{ verdict: EnclaveVerdict; registration: Registration }> {
  if (!(await source.isActive(address)))
    throw new AnonifyClientError(
      "enclave_not_active",
      `enclave ${address} is not an active enclave of the contract`,
    );
  const registration = await source.registration(address);
  if (!registration) throw refuse(address, "the chain holds no registration event of it");
  const { platform, evidence } = registration;
  // Refused before any verification: what the policy refuses whatever the evidence says.
  const early = platformRefusal(policy, platform);
  if (early) throw refuse(address, early);
  // Reading the collateral is chain I/O: its errors are the RPC's, not a verdict on the enclave.
  const root = rootOverrideFor(platform, policy.roots);
  const collateral = await source.collateral(platform, evidence, root);
  let verdict: Verdict;
  try {
    verdict = await SHARED_VERDICTS.verified(platform, evidence, collateral, options.now ?? new Date(), root);
  } catch (error) {
    if (error instanceof VerificationError)
      throw refuse(address, `its evidence does not verify: ${error.reason}`);
    throw error;
  }
  const binding = enclaveBinding(domain, address, registration.hpkePublicKey, registration.app);
  const unbound = boundVerdictRefusal(verdict, platform, binding);
  if (unbound) throw refuse(address, unbound);
  const judged = enclaveVerdict(registration, verdict);
  const refusal = verdictRefusal(policy, judged);
  if (refusal) throw refuse(address, refusal);
  return { verdict: judged, registration };
}

/** How long a client keeps its judgement of an enclave: a revocation or a new collateral set counts after it. */
const JUDGED_TTL_MS = 60 * 1000;

type Judged = { verdict: EnclaveVerdict; registration: Registration };

/**
 * The enclaves one client trusts, each judged from its evidence on chain at most once per
 * JUDGED_TTL_MS, refusals included (an untrusted enclave's batch at every point must not cost a
 * judgement per answer checked): the one it encrypts to, and each whose batches or claims it meets.
 */
export class TrustedEnclaves {
  private readonly judged = new Map<string, { judging: Promise<Judged>; at: number }>();

  constructor(
    private readonly source: EvidenceSource,
    private readonly domain: LedgerDomain,
    private readonly policy: EnclavePolicy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The enclave's verdict and registration, or `enclave_not_active` / `enclave_not_allowed`. */
  judge(address: Address): Promise<Judged> {
    const key = address.toLowerCase();
    const now = this.now();
    const held = this.judged.get(key);
    if (held && now.getTime() - held.at < JUDGED_TTL_MS) return held.judging;
    const judging = judgeEnclave(this.source, this.domain, address, this.policy, { now });
    // What is not a judgement (the RPC failed) is not kept.
    judging.catch((error: unknown) => {
      if (!(error instanceof AnonifyClientError)) this.judged.delete(key);
    });
    this.judged.set(key, { judging, at: now.getTime() });
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
