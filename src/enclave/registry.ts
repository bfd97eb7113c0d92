// The enclave's view of the contract's enclave registry, built from the events the host feeds in
// chain order (the check every member runs on a credential before it admits it: ./admission.ts). The host may
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
import { type Hex, toHex } from "viem";
import {
  applyCollateral,
  type CollateralOutcome,
  type HeldCollateral,
} from "../attestation/held-collateral.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { bytesOfHex } from "../protocol/bytes.js";
import { keyPackageDigest, type LedgerDomain, leaveDigest, payloadHash } from "../protocol/digests.js";
import {
  checkPolicyDomain,
  decodePolicy,
  decodePolicyHeader,
  nextPolicyState,
  type PolicyDocument,
  PolicyError,
  type PolicyHeader,
  type PolicyKeys,
  type PolicyState,
} from "../protocol/policy-document.js";
import { checkPolicySignatures } from "../protocol/policy-signatures.js";
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

export function enclaveAddressOf(identity: Uint8Array): Hex {
  return toHex(identity);
}
