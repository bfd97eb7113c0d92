// What a fault test prints when it fails: the nodes' own warnings, which say why a node stalled
// when the test's message (a timeout, a balance) does not.

/** Warning and error records kept in the test's log, but the batches sent again, the newest `limit`. */
export function nodeWarnings(logs: readonly string[], limit = 60): string {
  return logs
    .filter((l) => /"level":(40|50)/.test(l) && !l.includes("it is sent again"))
    .slice(-limit)
    .join("\n");
}
