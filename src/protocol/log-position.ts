// The order of contract events on a chain: by block, then by log index within the block. The
// follower (bigint block numbers) and the enclave (decimal strings across the boundary) share it.

/** Whether the event at (block, logIndex) comes strictly after `than`; everything does after nothing. */
export function comesAfter(
  block: bigint | string,
  logIndex: number,
  than: { block: bigint | string; logIndex: number } | undefined,
): boolean {
  if (!than) return true;
  const a = BigInt(block);
  const b = BigInt(than.block);
  return a > b || (a === b && logIndex > than.logIndex);
}
