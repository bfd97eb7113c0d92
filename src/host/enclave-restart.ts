// Bringing a node's enclave back after its process exited or the chain reorganised: a new process
// with the node's identity unsealed, retried with backoff until it serves or the node stops.
import { setTimeout as delay } from "node:timers/promises";
import type { EnclaveCalls } from "./enclave-process.js";
import type { SupervisedEnclave } from "./enclave-supervisor.js";
import { FailureLog, type Logger } from "./log.js";
import { initEnclave } from "./registration.js";

/** Backoff between attempts to bring a crashed enclave back: from the first to the most. */
const RESTART_BACKOFF_MS = { first: 250, max: 30_000 } as const;

/**
 * Runs `attempt` until it succeeds, each failure logged (once per kind) and followed by a backoff
 * that doubles up to RESTART_BACKOFF_MS.max; undefined once `signal` aborts (the node stops).
 */
export async function untilRestarted<T>(
  attempt: () => Promise<T>,
  log: Logger,
  signal: AbortSignal,
): Promise<{ value: T } | undefined> {
  const failures = new FailureLog(log, "enclave restart");
  for (let n = 0; ; n++) {
    if (signal.aborted) return undefined;
    try {
      return { value: await attempt() };
    } catch (error) {
      failures.failed(error);
      const backoff = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** n);
      await delay(backoff, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** A new enclave process with the node's identity unsealed, taking calls from the node's recovery only. */
export async function freshEnclave(
  enclave: SupervisedEnclave,
  identity: { hostDir: string; chainId: number; contract: `0x${string}` },
): Promise<EnclaveCalls> {
  await enclave.replace();
  const fresh = enclave.restarting;
  await initEnclave(fresh, identity);
  return fresh;
}
