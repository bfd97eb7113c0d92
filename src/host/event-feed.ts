// Converts the follower's decoded contract events into the JSON the enclave's boundary accepts.

import type { LedgerEvent } from "../boundary/chain-events.js";
import type { AnonifyEvent } from "../chain/follower.js";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function toJson(value: unknown): Json {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value as Json;
}

/** Events the enclave consumes; owner-only bookkeeping such as ownership transfers stays with the host. */
const ENCLAVE_EVENTS = new Set([
  "TrustedSignerSet",
  "MeasurementAllowed",
  "DebugAllowedSet",
  "EnclaveRegistered",
  "EnclaveRevoked",
  "EnclaveLeft",
  "KeyPackagePublished",
  "HandshakeCommitted",
  "BatchSubmitted",
]);

export function toLedgerEvent(event: AnonifyEvent): LedgerEvent | undefined {
  if (!ENCLAVE_EVENTS.has(event.eventName)) return undefined;
  return {
    kind: event.eventName,
    block: event.blockNumber.toString(),
    logIndex: event.logIndex,
    ...(toJson(event.args) as Record<string, Json>),
  } as unknown as LedgerEvent;
}
