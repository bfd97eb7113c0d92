// A signature worker: a thread of the enclave process that checks user signatures for it
// (signature-pool.ts). It runs the enclave's own bundle again (no other code: src/build/worker-guard.ts),
// told its role by `workerData`, and does pure work on public bytes: decode a signed command, compute
// its EIP-712 digest over the enclave's domain, verify its signature with the enclave's own
// `SignatureCheck`. No key, state or plaintext of the enclave reaches it; it answers with what it
// checked, and the enclave's thread remembers each verified one under a key over those exact bytes.
import { parentPort, workerData } from "node:worker_threads";
import { hexToBytes } from "viem";
import type { LedgerDomain } from "../protocol/digests.js";
import { commandDigest } from "../protocol/eip712.js";
import { decodeSignedCommand, WireError } from "../protocol/wire.js";
import { SignatureCheck } from "./signature-check.js";
import { CommandRejected } from "./signed-messages.js";

/** What `workerData.role` says to a thread of the enclave bundle that is a signature worker. */
export const SIGNATURE_WORKER_ROLE = "anonify-signature-check";

/** A chunk of signed commands to check, as the enclave sends it. */
export type CheckJob = { id: number; domain: LedgerDomain; commands: Uint8Array[] };

/** One command's outcome: the exact bytes verified, or the code it was refused with. */
export type CheckOutcome =
  | { digest: Uint8Array; signature: Uint8Array; signerKey: Uint8Array }
  | { refused: string };

export type CheckAnswer = { id: number; outcomes: CheckOutcome[] };

/** Whether this thread was started as a signature worker. */
export const isSignatureWorker = (): boolean =>
  parentPort !== null && (workerData as { role?: unknown } | undefined)?.role === SIGNATURE_WORKER_ROLE;

/** Checks each command as `verifySignedCommand` does its signature: decode, digest, verify. */
export function checkCommands(
  signatures: SignatureCheck,
  domain: LedgerDomain,
  commands: readonly Uint8Array[],
): CheckOutcome[] {
  return commands.map((encoded): CheckOutcome => {
    try {
      const signed = decodeSignedCommand(encoded);
      const digest = commandDigest(domain, signed);
      const signature = hexToBytes(signed.signature);
      const signerKey = hexToBytes(signed.signerKey);
      signatures.verify(digest, signature, signerKey);
      return { digest, signature, signerKey };
    } catch (error) {
      // As verifySignedCommand would name it: a decoding error's code, or the signature's.
      if (error instanceof CommandRejected || error instanceof WireError) return { refused: error.code };
      throw error;
    }
  });
}

/** Serves the enclave's jobs on this thread until the enclave ends it. */
function serve(): void {
  const port = parentPort;
  if (!port) return;
  const signatures = new SignatureCheck();
  port.on("message", (job: CheckJob) => {
    const answer: CheckAnswer = { id: job.id, outcomes: checkCommands(signatures, job.domain, job.commands) };
    port.postMessage(answer);
  });
}

if (isSignatureWorker()) serve();
