// A steady stream of transfers of 1 from one client, one after another, for fault tests: what the
// node acknowledged, how many were attempted, and which "not now" refusals it met on the way.
import type { Hex } from "viem";
import type { AnonifyClient } from "../../src/client/anonify-client.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { until } from "./wait.js";

/** Refusals that mean "retry shortly" (the node answers 503 while its enclave is replaced). */
const NOT_NOW = new Set(["enclave_restarting", "syncing", "http_503"]);
/** The node already holds the most of one sender's commands it takes. */
const QUEUE_FULL = "sender_queue_full";
/** How long one wait for the newest acknowledged command to be ordered may take. */
const QUEUE_WAIT_MS = 10_000;

export type TransferStream = {
  readonly acknowledged: { id: Hex; responseKey: Uint8Array }[];
  /** Requests sent: an acknowledged one, or one refused with "not now". */
  attempted(): number;
  /** The "not now" codes met. */
  readonly refusals: Set<string>;
  /** Ends the stream after the request in flight; rejects if a request failed otherwise. */
  stop(): Promise<void>;
};

/**
 * Sends transfers of 1 to `to` until stopped. A "not now" refusal waits until the node is ready
 * (`readyUrl`'s /v1/ready) and goes on; any other error ends the stream and fails `stop`.
 */
export function startTransferStream(client: AnonifyClient, to: Hex, readyUrl: string): TransferStream {
  const acknowledged: TransferStream["acknowledged"] = [];
  const refusals = new Set<string>();
  let attempted = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      attempted++;
      try {
        // A command whose answer was lost in a "not now" but that the node took is acknowledged
        // here too: the client asks the node for it by id before it gives up (lost-answer.ts).
        acknowledged.push(await client.send("transfer", { to, amount: "1" }));
      } catch (error) {
        if (!(error instanceof AnonifyClientError)) throw error;
        if (error.code === QUEUE_FULL) {
          // The node holds as many of this sender's commands as it takes (a slow machine, a rollback
          // resending): send more once the newest it acknowledged is ordered.
          const newest = acknowledged.at(-1);
          // A failed wait is met again by the next send, which says what it is.
          if (newest) await client.status(newest.id, undefined, QUEUE_WAIT_MS).catch(() => undefined);
          continue;
        }
        if (!NOT_NOW.has(error.code)) throw error;
        refusals.add(error.code);
        await until("the node to be ready again", async () =>
          (await fetch(new URL("/v1/ready", readyUrl))).ok ? true : undefined,
        );
      }
    }
  })();
  return {
    acknowledged,
    attempted: () => attempted,
    refusals,
    async stop() {
      running = false;
      await loop;
    },
  };
}
