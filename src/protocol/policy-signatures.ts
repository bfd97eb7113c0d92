// A policy document's signatures (the layout and the rule: ./policy-document.ts): k of the n keys
// pinned in the enclave's build, each signature checked against the key it names, cheap refusals
// first. Kept apart from the codec, which a reader may need without checking a signature.
import type { Hex } from "viem";
import { bytesOfHex } from "./bytes.js";
import { type LedgerDomain, policyDigest } from "./digests.js";
import {
  checkPolicyDomain,
  decodePolicy,
  decodePolicyHeader,
  POLICY_SIGNATURE_BYTES,
  type PolicyDocument,
  PolicyError,
  type PolicyKeys,
} from "./policy-document.js";
import { addressOfKey, SIGNATURE_BYTES, SignatureError, verifiedWithKey } from "./signatures.js";

/**
 * Checks that `threshold` distinct pinned signers signed the document; PolicyError with the reason
 * otherwise. Cheap refusals first, so that a document anyone can publish costs a member little: more
 * signatures than pinned signers, fewer than the threshold, an entry that is not a signature and a
 * public key, a signer twice, fewer pinned keys named than the threshold; only then verifications,
 * against the keys named, and a pinned key whose signature does not verify refuses the document
 * whole (an honest publisher never sends one: `anonify policy publish` checks them), so a forged
 * document costs at most one verification, a valid one `threshold`. A key not pinned counts for nothing.
 */
export function checkPolicySignatures(
  document: Hex,
  signatures: readonly Hex[],
  domain: LedgerDomain,
  keys: PolicyKeys,
): void {
  if (!Number.isInteger(keys.threshold) || keys.threshold < 1)
    throw new PolicyError("no policy threshold pinned");
  if (signatures.length > keys.signers.length)
    throw new PolicyError(
      `${signatures.length} signatures, more than the ${keys.signers.length} pinned signers could make`,
    );
  if (signatures.length < keys.threshold)
    throw new PolicyError(`${signatures.length} signature(s), ${keys.threshold} needed`);
  const pinned = new Set(keys.signers.map((s) => s.toLowerCase()));
  const named = new Map<Hex, { signature: Uint8Array; key: Uint8Array }>();
  for (const entry of signatures) {
    const bytes = bytesOfHex(entry);
    if (bytes.length !== POLICY_SIGNATURE_BYTES)
      throw new PolicyError(`a signature entry is ${POLICY_SIGNATURE_BYTES} bytes: a signature and its key`);
    const key = bytes.subarray(SIGNATURE_BYTES);
    let signer: Hex;
    try {
      signer = addressOfKey(key);
    } catch (error) {
      if (error instanceof SignatureError) throw new PolicyError(`a signature names no public key`);
      throw error;
    }
    if (named.has(signer)) throw new PolicyError(`${signer} signed twice`);
    if (pinned.has(signer)) named.set(signer, { signature: bytes.subarray(0, SIGNATURE_BYTES), key });
  }
  if (named.size < keys.threshold)
    throw new PolicyError(`signed by ${named.size} distinct pinned keys, ${keys.threshold} needed`);
  const digest = policyDigest(domain, document);
  let verified = 0;
  for (const [signer, { signature, key }] of named) {
    if (!verifiedWithKey(digest, signature, key))
      throw new PolicyError(`the signature of pinned signer ${signer} does not verify`);
    if (++verified === keys.threshold) return;
  }
}

/** Verifies a published document for `domain` against the pinned keys and returns it (PolicyError otherwise). */
export function verifyPolicy(
  document: Hex,
  signatures: readonly Hex[],
  domain: LedgerDomain,
  keys: PolicyKeys,
): PolicyDocument {
  const bytes = bytesOfHex(document);
  checkPolicyDomain(decodePolicyHeader(bytes), domain);
  checkPolicySignatures(document, signatures, domain, keys);
  return decodePolicy(bytes);
}
