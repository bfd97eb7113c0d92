// What a fault test prints when it fails: the nodes' own warnings, which say why a node stalled
// when the test's message (a timeout, a balance) does not.

/**
 * A test body that, when it fails, prints the nodes' warnings from `logs()` before the failure: the
 * test's own message (a timeout, a balance) rarely says why a node stalled.
 */
export function printingWarnings(
  logs: () => readonly string[] | undefined,
  body: () => Promise<void>,
): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const kept = logs();
      if (kept) console.error(`the nodes' warnings:\n${nodeWarnings(kept)}`);
      throw error;
    }
  };
}

/** Warning and error records kept in the test's log, but the batches sent again, the newest `limit`. */
export function nodeWarnings(logs: readonly string[], limit = 60): string {
  return logs
    .filter((l) => /"level":(40|50)/.test(l) && !l.includes("it is sent again"))
    .slice(-limit)
    .join("\n");
}
