// The command journal as one hash chain. Each sealed record names, inside its sealed plaintext, the
// hash of the record before it: `prev` = SHA-256 of the previous record's canonical plaintext (the
// exact bytes the enclave sealed; `encodeValue` of the record, which holds its version, identity,
// seq, prev and body). The plaintext rather than the sealed bytes: the chain binds what a record
// says, not the random nonce it was sealed with, and the restore checks it from the bytes it has
// just unsealed and authenticated. The first record names GENESIS.
//
// The host stores the records and may drop, duplicate or reorder them; it cannot change one (they
// are sealed). A restore therefore sorts them by seq, ignores what comes before the newest snapshot
// (the host may drop it: a snapshot holds it all) and refuses a chain with a record missing from the
// middle, or with two different records of one seq. Only the tail can go unnoticed: the enclave
// has no later record to miss it by.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex } from "viem";
import { EnclaveCallError } from "../boundary/frames.js";

/** What the first record of a journal names as its predecessor. */
export const GENESIS: Hex = `0x${"00".repeat(32)}`;

export const recordHash = (plaintext: Uint8Array): Hex => bytesToHex(sha256(plaintext));

/** The chain fields of a record, and the hash of its plaintext. */
export type Linked = { seq: number; prev: Hex; kind: string; hash: Hex };

const broken = (message: string) => new EnclaveCallError("journal_broken", message);

/**
 * The records a restore resumes from: the newest snapshot (or the first record, if none was ever
 * made) and every record after it, in order, checked as one unbroken chain.
 */
export function verifiedChain<R extends Linked>(records: readonly R[]): R[] {
  // The same record twice (same plaintext) is harmless: keep one.
  const sorted = [...new Map(records.map((r) => [r.hash, r])).values()].sort((a, b) => a.seq - b.seq);
  const snapshot = sorted.findLast((r) => r.kind === "snapshot");
  const chain = snapshot ? sorted.filter((r) => r.seq >= snapshot.seq) : sorted;
  const first = chain[0];
  if (first && !snapshot && (first.seq !== 1 || first.prev !== GENESIS))
    throw broken(`journal records before ${first.seq} are missing`);
  for (let i = 1; i < chain.length; i++) {
    const [before, record] = [chain[i - 1]!, chain[i]!];
    if (record.seq === before.seq) throw broken(`two different journal records numbered ${record.seq}`);
    if (record.seq !== before.seq + 1) throw broken(`journal record ${before.seq + 1} is missing`);
    if (record.prev !== before.hash)
      throw broken(`journal record ${record.seq} does not follow record ${before.seq}`);
  }
  return chain;
}
