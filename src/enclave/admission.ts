// The check every member runs on a credential before it admits it: the enclave's evidence, verified
// inside this enclave against the trust roots bundled into its measured build (the verifiers' pinned
// roots and the build's profile), its measurement, TCB, VMPL, binding and app against the build and
// the signed policy applied (src/enclave/registry.ts keeps that view). Never the contract's policy
// events nor the attestation service's report: the host may forge any event it feeds.
import { type Hex, hexToBytes, keccak256, toBytes, toHex } from "viem";
import { measurementWord } from "../attestation/attest.js";
import { boundVerdictRefusal } from "../attestation/bound-evidence.js";
import { collateralFor } from "../attestation/held-collateral.js";
import { DEVELOPMENT_POLICY, PRODUCTION_POLICY, vmplRefusal } from "../attestation/policy.js";
import { Platform, type PlatformName, type Verdict, VerificationError } from "../attestation/verdict.js";
import { VERIFIERS } from "../attestation/verifiers.js";
import { enclaveBinding, type LedgerDomain } from "../protocol/digests.js";
import type { PolicyKeys } from "../protocol/policy-document.js";
import type { AppliedPolicy, RegistryView } from "./registry.js";

/**
 * What a member admits, from its own measured build: the profile (production: real platforms
 * without debug; development: also the simulated platform, whose root key is public) and its own
 * measurement (the group admits enclaves of its own measurement). `now` is the chain's time where the
 * decision is taken (the block time of the event being applied, or of the last one applied), never
 * the enclave's clock: every member fed the same events decides alike.
 */
export type Admission = {
  profile: "production" | "development";
  measurement: Hex;
  /** The app this enclave runs (`appIdOf`): the group admits enclaves of its own app. */
  app: Hex;
  now: Date;
  /** The policy keys pinned in the build: only documents signed by `threshold` of them apply. */
  policyKeys: PolicyKeys;
};

/** What evidence checks need of the admission (not the policy keys). */
export type EvidenceAdmission = Omit<Admission, "policyKeys">;

const PROFILE_POLICY = { production: PRODUCTION_POLICY, development: DEVELOPMENT_POLICY } as const;

const PLATFORM_NAMES = Object.fromEntries(
  Object.entries(Platform).map(([name, number]) => [number, name as PlatformName]),
) as Record<number, PlatformName | undefined>;

export class CredentialError extends Error {
  override name = "CredentialError";
}

/** Whether a verdict's measurement is this enclave's own (Nitro's 48-byte PCR0 compared as its SHA-256 word, as on chain). */
export function isOwnMeasurement(verdictMeasurement: string, own: Hex): boolean {
  return measurementWord(verdictMeasurement) === measurementWord(own.slice(2));
}

/**
 * Verdicts of evidence, by format, evidence, collateral and the instant judged at: the same evidence
 * is checked by every credential check of one handshake (a joiner checks every member's), and a
 * candidate that is never admitted is checked again at every proposal. Keyed by the instant too, so
 * that a verdict depends on its inputs alone (a verdict reused at another time could outlive a
 * certificate or collateral window, and an enclave with a warm cache would then decide otherwise
 * than one without). A failure is kept as well: at the same instant it fails the same way. The
 * checks that depend on the caller (profile, measurement, policy, binding) run every time.
 */
const verdicts = new Map<string, Verdict | VerificationError>();
const MAX_CACHED_VERDICTS = 4096;

async function verifiedVerdict(
  format: PlatformName,
  evidence: Hex,
  now: Date,
  collateral: unknown,
): Promise<Verdict> {
  const collateralHash = collateral === undefined ? "none" : keccak256(toBytes(JSON.stringify(collateral)));
  const key = `${format}:${keccak256(evidence)}:${collateralHash}:${now.getTime()}`;
  let judged = verdicts.get(key);
  if (!judged) {
    try {
      judged = await VERIFIERS[format](hexToBytes(evidence), { now, collateral });
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error;
      judged = error;
    }
    if (verdicts.size >= MAX_CACHED_VERDICTS) verdicts.clear();
    verdicts.set(key, judged);
  }
  if (judged instanceof VerificationError) throw judged;
  return judged;
}

/**
 * Verifies an enclave's evidence inside this enclave: it verifies with the build's verifiers (their
 * pinned roots), its platform and debug flag pass the build's profile, its measurement is this
 * enclave's own or one the applied signed policy admits, its TCB meets that policy's minimum for
 * its platform, its report data binds the enclave's address, HPKE key and app to this chain and
 * contract, and that app is this enclave's own or an upgrade the applied signed policy names (an
 * enclave built with another app is never admitted for its measurement alone). `collateral` is for
 * DCAP: the Intel-signed set published on chain that judges this quote.
 */
export async function checkEvidence(
  evidence: { platform: number; evidence: Hex; collateral?: unknown },
  enclave: { address: Hex; hpkePublicKey: Hex; app: Hex },
  domain: LedgerDomain,
  admission: EvidenceAdmission,
  policy?: AppliedPolicy,
): Promise<Verdict> {
  const profile = PROFILE_POLICY[admission.profile];
  const format = PLATFORM_NAMES[evidence.platform];
  if (!format) throw new CredentialError(`unknown platform ${evidence.platform}`);
  if (!profile.platforms.includes(format)) {
    throw new CredentialError(`platform ${format} is not admitted by the ${admission.profile} profile`);
  }
  let verdict: Verdict;
  try {
    verdict = await verifiedVerdict(format, evidence.evidence, admission.now, evidence.collateral);
  } catch (error) {
    if (error instanceof VerificationError)
      throw new CredentialError(`evidence does not verify: ${error.reason}`);
    throw error;
  }
  if (verdict.platform !== format)
    throw new CredentialError(`evidence is ${verdict.platform}, not ${format}`);
  if (verdict.debug && !profile.debugAllowed) {
    throw new CredentialError(`debug enclaves are not admitted by the ${admission.profile} profile`);
  }
  // A signed policy may admit a higher VMPL (an SVSM deployment), never less than the profile's.
  const maxVmpl = Math.max(profile.maxVmpl ?? 0, policy?.maxVmpl ?? 0);
  const by = policy?.maxVmpl === undefined ? `the ${admission.profile} profile` : "the signed policy";
  const vmpl = vmplRefusal({ ...profile, maxVmpl }, verdict, by);
  if (vmpl) throw new CredentialError(vmpl);
  if (
    !isOwnMeasurement(verdict.measurement, admission.measurement) &&
    !policyAdmits(policy, evidence.platform, verdict)
  ) {
    throw new CredentialError(
      `measurement ${verdict.measurement} is not this enclave's own nor admitted by a signed policy`,
    );
  }
  checkTcbMinimum(policy, evidence.platform, verdict);
  const unbound = boundVerdictRefusal(
    verdict,
    format,
    enclaveBinding(domain, enclave.address, enclave.hpkePublicKey, enclave.app),
  );
  if (unbound) throw new CredentialError(unbound);
  const app = enclave.app.toLowerCase();
  if (app !== admission.app.toLowerCase() && !(policy?.apps ?? []).includes(app as Hex))
    throw new CredentialError(
      `app ${app} is not this group's app (${admission.app}) nor an upgrade a signed policy names`,
    );
  return verdict;
}

function policyAdmits(policy: AppliedPolicy | undefined, platform: number, verdict: Verdict): boolean {
  const word = measurementWord(verdict.measurement);
  return (policy?.measurements ?? []).some((m) => m.platform === platform && m.measurement === word);
}

function checkTcbMinimum(policy: AppliedPolicy | undefined, platform: number, verdict: Verdict): void {
  const minimum = policy?.tcbMinimums.find((m) => m.platform === platform);
  if (!minimum) return;
  if (!minimum.statuses.includes(verdict.tcbStatus)) {
    throw new CredentialError(`TCB status ${verdict.tcbStatus} is not accepted by the signed policy`);
  }
  const number = verdict.tcbEvaluationDataNumber ?? 0;
  if (number < minimum.tcbEvaluationDataNumber) {
    throw new CredentialError(
      `collateral tcbEvaluationDataNumber ${number} is below the signed policy's ${minimum.tcbEvaluationDataNumber}`,
    );
  }
}

/**
 * A member credential is the enclave's address. It is accepted only if that enclave is active in
 * the registry view, the MLS signature key is one the enclave itself signed a key package for
 * (checked when the key package arrived), and its evidence passes `checkEvidence`.
 */
export async function checkCredential(
  view: RegistryView,
  domain: LedgerDomain,
  identity: Uint8Array,
  signaturePublicKey: Uint8Array,
  admission: EvidenceAdmission,
): Promise<void> {
  if (identity.length !== 20) throw new CredentialError("credential identity is not an enclave address");
  const address = toHex(identity);
  const record = view.enclaves[address];
  if (!record) throw new CredentialError(`enclave ${address} is not registered`);
  if (record.state !== "active") throw new CredentialError(`enclave ${address} is ${record.state}`);
  if (!record.mlsSignatureKeys.includes(toHex(signaturePublicKey))) {
    throw new CredentialError(`enclave ${address} did not sign a key package with this MLS signature key`);
  }
  const format = PLATFORM_NAMES[record.platform];
  const judged = format && collateralFor(view.collateral, format, record.evidence);
  if (judged && judged.collateral === undefined) {
    throw new CredentialError(
      `no published collateral judges enclave ${address}'s ${format} quote (${judged.key}): publish Intel's with \`anonify collateral publish\``,
    );
  }
  await checkEvidence(
    { platform: record.platform, evidence: record.evidence, collateral: judged?.collateral },
    { address, hpkePublicKey: record.hpkePublicKey, app: record.app },
    domain,
    admission,
    view.policy,
  );
}
