// Bringing a node's enclave back after its process exited or the chain reorganised: a new process
// with the node's identity unsealed, retried with backoff until it serves or the node stops.
import { setTimeout as delay } from "node:timers/promises";
import type { SessionMode } from "../boundary/host-handshake.js";
import type { EnclaveCalls } from "./enclave-process.js";
import type { SupervisedEnclave } from "./enclave-supervisor.js";
import { FailureLog, type Logger } from "./log.js";
import { IdentityLostError, initEnclave } from "./registration.js";

/** Backoff between attempts to bring a crashed enclave back: from the first to the most. */
const RESTART_BACKOFF_MS = { first: 250, max: 30_000 } as const;

/**
 * Runs `attempt` until it succeeds, each failure logged (once per kind) and followed by a backoff
 * that doubles up to RESTART_BACKOFF_MS.max; undefined once `signal` aborts (the node stops), or
 * once the enclave's identity is lost (no later attempt brings it back: said once, loudly).
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
      if (error instanceof IdentityLostError) {
        log.error({ reason: error.reason }, error.message);
        return undefined;
      }
      failures.failed(error);
      const backoff = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** n);
      await delay(backoff, undefined, { signal }).catch(() => undefined);
    }
  }
}

/**
 * A new enclave process with the node's identity unsealed, taking calls from the node's recovery only.
 * One that comes back as another identity is stopped (the node's calls then answer `enclave_stopped`)
 * and refused with IdentityLostError: serving as the registered enclave, it would be another member.
 * An enclave served in a VM that outlived its connection is the same one again (`session` "resume":
 * `init` answers its identity as it is), unless "fresh" asks for a new process (a rollback).
 */
export async function freshEnclave(
  enclave: Pick<SupervisedEnclave, "replace" | "restarting" | "stop">,
  identity: { hostDir: string; chainId: number; contract: `0x${string}` },
  session: SessionMode = "resume",
): Promise<EnclaveCalls> {
  await enclave.replace(session);
  const fresh = enclave.restarting;
  try {
    await initEnclave(fresh, identity, { keepIdentity: true });
  } catch (error) {
    if (error instanceof IdentityLostError) await enclave.stop();
    throw error;
  }
  return fresh;
}
