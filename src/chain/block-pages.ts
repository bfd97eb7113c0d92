// Log ranges a provider takes: many cap `eth_getLogs` at a few thousand blocks, so every reader of
// the contract's logs (the follower, a joiner's host, the client in a browser) asks in pages.
// Pure: the browser's client imports it.

/** Blocks in one `eth_getLogs` page. */
export const DEFAULT_PAGE_BLOCKS = 2_000n;

/** The pages `[from, to]` of at most `size` blocks that cover blocks `from` to `last`, in order. */
export function* blockPages(
  from: bigint,
  last: bigint,
  size = DEFAULT_PAGE_BLOCKS,
): Generator<{ from: bigint; to: bigint }> {
  for (let start = from; start <= last; start += size) {
    const end = start + size - 1n;
    yield { from: start, to: end < last ? end : last };
  }
}
