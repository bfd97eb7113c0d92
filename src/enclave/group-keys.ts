// The keys a member derives from its group's epoch (through the MLS exporter): the batch key that
// seals the epoch's batches, the digest key of its state digests, and a fingerprint to show; and the
// group id, which names the chain and contract.
import { sha256 } from "@noble/hashes/sha2.js";
import {
  bytesToHex,
  encodeAbiParameters,
  type Hex,
  hexToBytes,
  keccak256,
  parseAbiParameters,
  toBytes,
} from "viem";
import { epochOf, exportSecret, type GroupState } from "../group/mls.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { digestKeyContext, STATE_DIGEST_LABEL } from "./ledger-digest.js";

export const BATCH_KEY_LABEL = "anonify/batch-key/v1";
export const BATCH_KEY_BYTES = 32;
const DIGEST_KEY_BYTES = 32;

export function groupIdFor(domain: LedgerDomain): Uint8Array {
  return hexToBytes(
    keccak256(
      encodeAbiParameters(parseAbiParameters("bytes32, uint256, address"), [
        keccak256(toBytes("anonify.group-id.v1")),
        BigInt(domain.chainId),
        domain.contract,
      ]),
    ),
  );
}

export async function epochKeyOf(group: GroupState, domain: LedgerDomain): Promise<Uint8Array> {
  const context = hexToBytes(
    encodeAbiParameters(parseAbiParameters("uint256, address, uint64"), [
      BigInt(domain.chainId),
      domain.contract,
      epochOf(group),
    ]),
  );
  return exportSecret(group, BATCH_KEY_LABEL, context, BATCH_KEY_BYTES);
}

/** A member key's fingerprint: what status reports so nodes can compare keys without revealing them. */
export function keyFingerprint(key: Uint8Array | undefined): Hex | undefined {
  return key ? (bytesToHex(sha256(key)).slice(0, 18) as Hex) : undefined;
}

/** The key of the state digests of a group's epoch: only its members can compute or check one. */
export function digestKeyOf(group: GroupState, domain: LedgerDomain): Promise<Uint8Array> {
  return exportSecret(
    group,
    STATE_DIGEST_LABEL,
    digestKeyContext(domain.chainId, domain.contract, epochOf(group)),
    DIGEST_KEY_BYTES,
  );
}
