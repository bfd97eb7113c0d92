// Signature checks ahead of applying: before a run of batches is applied, their commands go to the
// enclave's signature workers (signature-pool.ts), and each command a worker verified is remembered
// in the enclave's own `SignatureCheck` under a key over its exact bytes. `applyBatch` stays
// synchronous and unchanged: it verifies every command as before and finds these in the cache; one
// a worker refused or did not answer is verified there, inline, and refused or applied as it always was.
import type { LedgerEvent } from "../boundary/chain-events.js";
import type { LedgerDomain } from "../protocol/digests.js";
import { batchCommands } from "./ledger-batches.js";
import { MAX_VERIFIED_SIGNATURES, type SignatureCheck } from "./signature-check.js";
import type { SignaturePool } from "./signature-pool.js";

/** Commands checked ahead at most: well inside the cache, so none is dropped before its batch applies. */
export const MAX_COMMANDS_AHEAD = MAX_VERIFIED_SIGNATURES / 4;

/** The key batches of the current MLS epoch open under (none outside the group). */
export type BatchKey = { epochKey: Uint8Array; mlsEpoch: bigint; domain: LedgerDomain };

/** Checks `commands` on the pool and remembers each verified one in `signatures`. Never rejects. */
export async function checkAhead(
  pool: SignaturePool,
  signatures: SignatureCheck,
  domain: LedgerDomain,
  commands: readonly Uint8Array[],
): Promise<void> {
  for (const outcome of await pool.check(domain, commands)) {
    if (!outcome || "refused" in outcome) continue;
    try {
      signatures.remember(outcome.digest, outcome.signature, outcome.signerKey);
    } catch {
      // Bytes of the wrong shape: nothing remembered, the inline path decides.
    }
  }
}

/**
 * Starts the checks of the run of batches from `from` on (up to the next event that is not a batch,
 * which may change the key, and MAX_COMMANDS_AHEAD commands): one promise per batch index, and the
 * index the run ends before. A batch that does not open under `key` is left to `applyBatch`.
 */
export function checkRunAhead(
  events: readonly LedgerEvent[],
  from: number,
  key: BatchKey | undefined,
  {
    signaturePool: pool,
    signatures,
  }: { signaturePool: SignaturePool | undefined; signatures: SignatureCheck },
): { ahead: Map<number, Promise<void>>; until: number } {
  const ahead = new Map<number, Promise<void>>();
  let at = from;
  if (!pool || pool.threads.length === 0 || !key) return { ahead, until: from + 1 };
  for (let budget = MAX_COMMANDS_AHEAD; at < events.length && budget > 0; at++) {
    const event = events[at]!;
    if (event.kind !== "BatchSubmitted") break;
    let commands: Uint8Array[];
    try {
      commands = batchCommands(event, key);
    } catch {
      continue;
    }
    budget -= commands.length;
    ahead.set(at, checkAhead(pool, signatures, key.domain, commands));
  }
  return { ahead, until: Math.max(at, from + 1) };
}
