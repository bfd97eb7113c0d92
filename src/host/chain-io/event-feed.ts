// Converts the follower's decoded contract events into the JSON the enclave's boundary accepts,
// in calls of bounded size.

import type { LedgerEvent } from "../../boundary/chain-events.js";
import type { AnonifyEvent } from "../../chain/follower.js";
import { isSequencedKind } from "../../protocol/event-chain.js";

/** Ledger events per applyEvents call, and their payload bytes: well inside the boundary's frame limit. */
const EVENTS_PER_CALL = 64;
const EVENT_BYTES_PER_CALL = 4 * 1024 * 1024;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function toJson(value: unknown): Json {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value as Json;
}

/**
 * The events of the contract's sequence, which the enclave applies one after the other; the owner's
 * policy events (ownership, measurements, signers, debug, revocations) stay with the host.
 */
export function toLedgerEvent(event: AnonifyEvent): LedgerEvent | undefined {
  if (!isSequencedKind(event.eventName)) return undefined;
  // The seam from viem's decoded arguments to the boundary's JSON: the enclave checks every field
  // (src/boundary/chain-events.ts), so the host's word for this shape is not trusted anyway.
  return {
    kind: event.eventName,
    block: event.blockNumber.toString(),
    logIndex: event.logIndex,
    ...(toJson(event.args) as Record<string, Json>),
  } as LedgerEvent;
}

/** Ledger events split into applyEvents calls of bounded count and size, in order. */
export function inCalls(events: LedgerEvent[]): LedgerEvent[][] {
  const calls: LedgerEvent[][] = [];
  let bytes = 0;
  for (const event of events) {
    // The hex payloads are what make an event large; counting them costs no copy.
    const size = Object.values(event).reduce<number>((n, v) => n + (typeof v === "string" ? v.length : 0), 0);
    const last = calls.at(-1);
    if (last && last.length < EVENTS_PER_CALL && bytes + size <= EVENT_BYTES_PER_CALL) {
      last.push(event);
      bytes += size;
    } else {
      calls.push([event]);
      bytes = size;
    }
  }
  return calls;
}
