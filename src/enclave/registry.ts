// The enclave's view of the contract's enclave registry, built from the events the host feeds in
// chain order, and the check every member runs on a credential before it admits it. The host may
// forge any event it feeds, so nothing here rests on its word: a member is admitted on evidence
// verified inside this enclave against the trust roots bundled into its measured build (the
// verifiers' pinned roots and the build's profile), never on the contract's policy events
// (TrustedSignerSet, MeasurementAllowed, DebugAllowedSet, EnclaveRevoked: the contract's public
// gate; they arrive and are ignored here) nor on the attestation service's report. A member leaves
// the active set only with proof: its own signed leave (`EnclaveLeft`, its signature verified here)
// or a revocation in a signed policy document (`PolicyPublished`, verified against the policy keys
// pinned in the build); only then may a commit remove it (`hasRemovalProof`). SGX and TDX quotes are
// judged against the Intel-signed collateral published on chain (`CollateralPublished`,
// src/attestation/held-collateral.ts), so every member judges them against the same set.
import { type Hex, hexToBytes, keccak256, toBytes, toHex } from "viem";
import { measurementWord } from "../attestation/attest.js";
import { boundVerdictRefusal } from "../attestation/bound-evidence.js";
import {
  applyCollateral,
  type CollateralOutcome,
  collateralFor,
  type HeldCollateral,
} from "../attestation/held-collateral.js";
import { DEVELOPMENT_POLICY, PRODUCTION_POLICY, vmplRefusal } from "../attestation/policy.js";
import { Platform, type PlatformName, type Verdict, VerificationError } from "../attestation/verdict.js";
import { VERIFIERS } from "../attestation/verifiers.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { bytesOfHex } from "../protocol/bytes.js";
import {
  enclaveBinding,
  keyPackageDigest,
  type LedgerDomain,
  leaveDigest,
  payloadHash,
} from "../protocol/digests.js";
import {
  checkPolicyDomain,
  checkPolicySignatures,
  decodePolicy,
  decodePolicyHeader,
  nextPolicyState,
  type PolicyDocument,
  PolicyError,
  type PolicyHeader,
  type PolicyKeys,
  type PolicyState,
} from "../protocol/policy-document.js";
import { signedBy } from "../protocol/signatures.js";

export type EnclaveRecord = {
  /** `revoked`: by a signed policy this enclave applied; `left`: by the enclave's own signed leave. */
  state: "active" | "revoked" | "left";
  /** The contract's platform number (`Platform`): also the format of `evidence`. */
  platform: number;
  hpkePublicKey: Hex;
  /** The app it registered as running (`appIdOf`), which its evidence binds. */
  app: Hex;
  /** The raw attestation evidence it registered with, verified by each member itself. */
  evidence: Hex;
  /** Order of registration (0 = first): the first active enclave creates the group. */
  order: number;
  /** The latest key package it published (its signature checked here), and the MLS signature keys of all. */
  keyPackage?: Hex;
  mlsSignatureKeys: Hex[];
  /** Its batches ordered so far: its batch nonce on chain, which the signature of its next batch names. */
  batches?: bigint;
};

/**
 * The signed policy applied last: every revocation of the policies applied so far, and the
 * measurements and TCB minimums the latest document that named them set.
 */
export type AppliedPolicy = PolicyState & {
  /** The SHA-256 of every document applied (in full or for its revocations): a replay is ignored for its hash. */
  documents: Hex[];
  /** Where `upgrade` took effect: the place of the document that named it (src/enclave/app-upgrade.ts). */
  upgradedAt?: { seq: bigint; head: Hex };
};

/** What became of the last `PolicyPublished` event: applied, or ignored and why. */
export type PolicyOutcome = { block: string; logIndex: number; version?: string; outcome: string };

export type RegistryView = {
  enclaves: Record<string, EnclaveRecord>;
  policy?: AppliedPolicy;
  lastPolicyEvent?: PolicyOutcome;
  /** DCAP collateral by platform, FMSPC and PCK CA (src/attestation/held-collateral.ts); absent: none published. */
  collateral?: Readonly<Record<string, HeldCollateral>>;
  lastCollateralEvent?: CollateralOutcome;
};

export const EMPTY_REGISTRY: RegistryView = { enclaves: {} };

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

/**
 * Applies a registry event; other events (the contract's policy events and `EnclaveRevoked`
 * included) leave the view as it is. A key package is recorded only if its signature, over the
 * digest with the event's record nonce, recovers to the enclave that published it: the host cannot
 * attach an MLS key of its own to a registered enclave. A leave counts only if the enclave signed
 * it; a policy document only if `verifyPolicy` accepts it for this domain and the build's keys and
 * its version is above the one applied (otherwise `lastPolicyEvent` says why it was ignored).
 */
export async function updateRegistry(
  view: RegistryView,
  event: LedgerEvent,
  domain: LedgerDomain,
  mlsSignatureKeyOf: (keyPackage: Hex) => Hex | undefined,
  policyKeys: PolicyKeys,
): Promise<RegistryView> {
  switch (event.kind) {
    case "EnclaveRegistered": {
      const address = event.enclave;
      return {
        ...view,
        enclaves: {
          ...view.enclaves,
          [address]: {
            state: view.policy?.revocations.includes(address) ? "revoked" : "active",
            platform: event.platform,
            hpkePublicKey: event.hpkePublicKey,
            app: event.app,
            evidence: event.evidence,
            order: Object.keys(view.enclaves).length,
            mlsSignatureKeys: [],
          },
        },
      };
    }
    case "EnclaveLeft": {
      const address = event.enclave;
      const record = view.enclaves[address];
      if (record?.state !== "active") return view;
      if (!signedBy(leaveDigest(domain, BigInt(event.nonce)), event.signature, address)) return view;
      return { ...view, enclaves: { ...view.enclaves, [address]: { ...record, state: "left" } } };
    }
    case "PolicyPublished":
      return applyPolicy(view, event, domain, policyKeys);
    case "CollateralPublished": {
      const { held, outcome } = applyCollateral(view.collateral ?? {}, event);
      return { ...view, collateral: held, lastCollateralEvent: outcome };
    }
    case "KeyPackagePublished": {
      const address = event.enclave;
      const record = view.enclaves[address];
      const key = mlsSignatureKeyOf(event.keyPackage);
      if (!record || !key) return view;
      if (
        !signedBy(keyPackageDigest(domain, BigInt(event.nonce), event.keyPackage), event.signature, address)
      )
        return view;
      return {
        ...view,
        enclaves: {
          ...view.enclaves,
          [address]: {
            ...record,
            keyPackage: event.keyPackage,
            mlsSignatureKeys: [...record.mlsSignatureKeys, key.toLowerCase() as Hex],
          },
        },
      };
    }
    default:
      return view;
  }
}

/**
 * Applies a `PolicyPublished` event. Anyone can publish one for a little gas, so the cheap checks
 * come first: the header (format, this chain and contract), then the document's hash against those
 * applied before (a replay costs a hash), then its signatures (at most one verification for a forged
 * one: `checkPolicySignatures`), and only then the whole document is decoded. Revocations do not
 * depend on the order documents arrive in: a valid document at or below the applied version still
 * adds its revocations (they are permanent), while the fields a newer document replaces (admitted
 * measurements, TCB minimums) come only from the highest version.
 */
function applyPolicy(
  view: RegistryView,
  event: Extract<LedgerEvent, { kind: "PolicyPublished" }>,
  domain: LedgerDomain,
  policyKeys: PolicyKeys,
): RegistryView {
  const at = { block: event.block, logIndex: event.logIndex };
  const ignored = (outcome: string, version?: bigint): RegistryView => ({
    ...view,
    lastPolicyEvent: {
      ...at,
      ...(version === undefined ? {} : { version: version.toString() }),
      outcome: `ignored: ${outcome}`,
    },
  });
  const bytes = bytesOfHex(event.document);
  let header: PolicyHeader;
  try {
    header = decodePolicyHeader(bytes);
    checkPolicyDomain(header, domain);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return ignored(error.message);
  }
  const hash = payloadHash(event.document);
  if (view.policy?.documents.includes(hash)) return ignored("applied already", header.version);
  let document: PolicyDocument;
  try {
    checkPolicySignatures(event.document, event.signatures, domain, policyKeys);
    document = decodePolicy(bytes);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return ignored(error.message, header.version);
  }
  const current = view.policy?.version ?? 0n;
  const newer = document.version > current;
  const enclaves = { ...view.enclaves };
  for (const address of document.revocations) {
    const record = enclaves[address];
    if (record?.state === "active") enclaves[address] = { ...record, state: "revoked" };
  }
  const documents = [...(view.policy?.documents ?? []), hash];
  const upgradedAt =
    newer && document.upgrade ? { seq: BigInt(event.seq), head: event.head } : view.policy?.upgradedAt;
  return {
    ...view,
    enclaves,
    policy: { ...nextPolicyState(view.policy, document), documents, ...(upgradedAt ? { upgradedAt } : {}) },
    lastPolicyEvent: {
      ...at,
      version: document.version.toString(),
      outcome: newer
        ? "applied"
        : `applied: its revocations (version ${document.version} is not above ${current})`,
    },
  };
}

/** The view after a batch of `enclave` was ordered: its batch nonce moves on, as the contract's does. */
export function countBatch(view: RegistryView, enclave: Hex): RegistryView {
  const address = enclave.toLowerCase();
  const record = view.enclaves[address];
  if (!record) return view;
  return {
    ...view,
    enclaves: { ...view.enclaves, [address]: { ...record, batches: (record.batches ?? 0n) + 1n } },
  };
}

/**
 * Whether a commit may remove this member, in this registry view: only with proof, i.e. the
 * enclave's own signed leave or a revocation in an applied signed policy. A forged `EnclaveRevoked`
 * is no proof; a member this view does not know cannot be removed either.
 */
export function hasRemovalProof(view: RegistryView, identity: Uint8Array): boolean {
  if (identity.length !== 20) return false;
  const state = view.enclaves[toHex(identity).toLowerCase()]?.state;
  return state === "revoked" || state === "left";
}

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

export function enclaveAddressOf(identity: Uint8Array): Hex {
  return toHex(identity);
}
