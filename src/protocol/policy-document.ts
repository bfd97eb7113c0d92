// Signed, versioned policy documents: what a deployment's policy signers (k of n keys pinned in the
// enclave's measured build, `EnclaveConfig.policyKeys`) tell every enclave beyond its own build.
// They travel on chain (`publishPolicy(document, signatures)` → `PolicyPublished`), so every enclave
// sees the same documents in the same order; the contract does not check them: the content
// authenticates itself, inside each enclave.
//
// Byte layout (big-endian, strict: every byte accounted for, nothing after the last field):
//
//   offset  size  field
//   0       8     magic "ANFYPLCY"
//   8       1     format (1; any other is refused)
//   9       8     version   u64, ≥ 1: an enclave applies a document only if it is above the one it holds
//   17      8     chainId   u64: the chain the document is for
//   25      20    contract  the Anonify contract the document is for
//   45      …     fields: each `u8 tag | u32 length | body`, tags strictly ascending (each at most once)
//
// Fields (an unknown tag is refused: an enclave never applies a document it cannot read in full):
//   1  revocations  body = u16 count | count × 20-byte enclave address, strictly ascending (so no
//                   duplicates). Revocations accumulate: an enclave keeps every revocation of every
//                   document it applied, and a later document need not repeat them.
//   Reserved, not built yet (no code reads them, so a document carrying them is refused today):
//   2  measurements  enclave measurements admitted besides the build's own (upgrades)
//   3  tcb-minimums  per-platform TCB minimums for admission
//
// Signatures: each is a 65-byte secp256k1 signature (r ‖ s ‖ v) over the raw digest
// `keccak256(abi.encode(POLICY_TAG, chainId, contract, keccak256(document)))` (`policyDigest` in
// src/protocol/digests.ts, POLICY_TAG = keccak256("anonify.policy.v1")), as the enclave's own
// records are signed. A document is valid for a domain if its chain and
// contract are that domain's and at least `threshold` distinct pinned signers signed it.

import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, recoverAddress, toBytes } from "viem";
import { type LedgerDomain, policyDigest } from "./digests.js";

export { POLICY_TAG, policyDigest } from "./digests.js";

export const POLICY_MAGIC = "ANFYPLCY";
export const POLICY_FORMAT = 1;
/** Well above any real revocation list; bounds what an enclave parses from a host-fed event. */
export const MAX_POLICY_BYTES = 64 * 1024;
export const MAX_POLICY_SIGNATURES = 32;

const FIELD_REVOCATIONS = 1;
const HEADER_BYTES = 45;
const U64_MAX = (1n << 64n) - 1n;

export type PolicyDocument = {
  version: bigint;
  chainId: bigint;
  contract: Address;
  /** Enclave addresses, lower case, ascending. */
  revocations: Hex[];
};

/** The policy keys a build pins: a document counts only with `threshold` distinct signers of `signers`. */
export type PolicyKeys = { threshold: number; signers: Address[] };

export class PolicyError extends Error {
  override name = "PolicyError";
}

function u64(value: bigint, field: string): Uint8Array {
  if (value < 0n || value > U64_MAX) throw new PolicyError(`${field} does not fit in u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

function sortedAddresses(addresses: readonly Hex[]): Hex[] {
  const lower = addresses.map((a) => getAddress(a).toLowerCase() as Hex);
  return [...new Set(lower)].sort();
}

export function encodePolicy(document: PolicyDocument): Uint8Array {
  if (document.version < 1n) throw new PolicyError("version starts at 1");
  const revocations = sortedAddresses(document.revocations);
  if (revocations.length > 0xffff) throw new PolicyError("too many revocations");
  const parts: Uint8Array[] = [
    toBytes(POLICY_MAGIC),
    Uint8Array.of(POLICY_FORMAT),
    u64(document.version, "version"),
    u64(document.chainId, "chainId"),
    hexToBytes(getAddress(document.contract)),
  ];
  const body = new Uint8Array(2 + 20 * revocations.length);
  new DataView(body.buffer).setUint16(0, revocations.length);
  for (const [i, a] of revocations.entries()) body.set(hexToBytes(a), 2 + 20 * i);
  const header = new Uint8Array(5);
  header[0] = FIELD_REVOCATIONS;
  new DataView(header.buffer).setUint32(1, body.length);
  parts.push(header, body);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Strict decoding: wrong magic or format, a truncated or trailing byte, an unknown or repeated field, unsorted addresses are refused. */
export function decodePolicy(bytes: Uint8Array): PolicyDocument {
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError("document too large");
  if (bytes.length < HEADER_BYTES) throw new PolicyError("document truncated");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== POLICY_MAGIC)
    throw new PolicyError("not a policy document");
  if (bytes[8] !== POLICY_FORMAT) throw new PolicyError(`unknown policy format ${bytes[8]}`);
  const version = view.getBigUint64(9);
  if (version < 1n) throw new PolicyError("version starts at 1");
  const chainId = view.getBigUint64(17);
  const contract = getAddress(bytesToHex(bytes.subarray(25, 45)));
  let revocations: Hex[] = [];
  let at = HEADER_BYTES;
  let lastTag = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) throw new PolicyError("field header truncated");
    const tag = bytes[at]!;
    const length = view.getUint32(at + 1);
    at += 5;
    if (tag <= lastTag) throw new PolicyError("fields out of order or repeated");
    lastTag = tag;
    if (at + length > bytes.length) throw new PolicyError("field truncated");
    const body = bytes.subarray(at, at + length);
    at += length;
    if (tag !== FIELD_REVOCATIONS) throw new PolicyError(`unknown policy field ${tag}`);
    if (body.length < 2) throw new PolicyError("revocations truncated");
    const count = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint16(0);
    if (body.length !== 2 + 20 * count)
      throw new PolicyError("revocations length does not match their count");
    revocations = [];
    for (let i = 0; i < count; i++) {
      const address = bytesToHex(body.subarray(2 + 20 * i, 22 + 20 * i));
      const previous = revocations.at(-1);
      if (previous !== undefined && address <= previous)
        throw new PolicyError("revocations not strictly ascending");
      revocations.push(address);
    }
  }
  return { version, chainId, contract, revocations };
}

/**
 * Verifies a published document for `domain` against the pinned keys and returns it; throws
 * PolicyError with the reason otherwise. Each signer counts once; a signature that does not recover,
 * or recovers to a key not pinned, counts for nothing.
 */
export async function verifyPolicy(
  document: Hex,
  signatures: readonly Hex[],
  domain: LedgerDomain,
  keys: PolicyKeys,
): Promise<PolicyDocument> {
  const decoded = decodePolicy(hexToBytes(document));
  if (decoded.chainId !== BigInt(domain.chainId))
    throw new PolicyError(`document is for chain ${decoded.chainId}`);
  if (decoded.contract.toLowerCase() !== domain.contract.toLowerCase()) {
    throw new PolicyError(`document is for contract ${decoded.contract}`);
  }
  if (!Number.isInteger(keys.threshold) || keys.threshold < 1)
    throw new PolicyError("no policy threshold pinned");
  const pinned = new Set(keys.signers.map((s) => s.toLowerCase()));
  const digest = policyDigest(domain, document);
  const signers = new Set<string>();
  for (const signature of signatures.slice(0, MAX_POLICY_SIGNATURES)) {
    try {
      const signer = (await recoverAddress({ hash: digest, signature })).toLowerCase();
      if (pinned.has(signer)) signers.add(signer);
    } catch {
      // A malformed signature counts for nothing.
    }
  }
  if (signers.size < keys.threshold) {
    throw new PolicyError(`signed by ${signers.size} distinct pinned keys, ${keys.threshold} needed`);
  }
  return decoded;
}
