// Type tests (checked by `tsc --noEmit`, never run: the test runner takes `*.test.ts` only) that the
// boundary's chain events are typed from their schema (`LEDGER_EVENT`): narrowing on `kind` gives
// each event's own fields, in the types they cross the boundary in.
import type { Hex } from "viem";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import { cursorOf, type LedgerEvent, type LedgerEventKind } from "./chain-events.js";

declare const event: LedgerEvent;
declare const head: Hex;

type _Kinds = Expect<
  Equal<
    LedgerEventKind,
    | "EnclaveRegistered"
    | "EnclaveLeft"
    | "PolicyPublished"
    | "CollateralPublished"
    | "KeyPackagePublished"
    | "HandshakeCommitted"
    | "BatchSubmitted"
    | "SnapshotCommitted"
  >
>;

type Batch = Extract<LedgerEvent, { kind: "BatchSubmitted" }>;
type _Batch = Expect<
  Equal<
    Batch,
    {
      readonly kind: "BatchSubmitted";
      readonly seq: string;
      readonly timestamp: string;
      readonly head: Hex;
      readonly block: string;
      readonly logIndex: number;
      readonly batch: string;
      readonly baseSeq: string;
      readonly enclave: Hex;
      readonly epoch: string;
      readonly firstSequence: string;
      readonly count: number;
      readonly stateDigest: Hex;
      readonly ciphertext: Hex;
      readonly signature: Hex;
    }
  >
>;

// Every event carries its position in the sequence.
expectType<string>(event.seq);
expectType<Hex>(event.head);
expectType<number>(event.logIndex);
expectType<{ readonly seq: string; readonly head: Hex }>(cursorOf(event));

// @ts-expect-error -- `stateDigest` is not on every event: narrow on `kind` first
event.stateDigest;
// @ts-expect-error -- `rotation` is a HandshakeCommitted field only
event.rotation;
// @ts-expect-error -- events are read-only as the enclave checked them
event.kind = "BatchSubmitted";

/** Narrowing on `kind` gives each event's fields. */
export function fieldsOf(e: LedgerEvent): string {
  switch (e.kind) {
    case "BatchSubmitted":
      expectType<Hex>(e.stateDigest);
      expectType<string>(e.firstSequence);
      expectType<number>(e.count);
      expectType<Hex>(e.ciphertext);
      // @ts-expect-error -- a batch has no `rotation` (HandshakeCommitted's)
      e.rotation;
      return e.batch;
    case "HandshakeCommitted":
      expectType<boolean>(e.rotation);
      expectType<string>(e.epoch);
      expectType<Hex>(e.handshake);
      expectType<string>(e.baseSeq);
      // @ts-expect-error -- a handshake carries no state digest
      e.stateDigest;
      // @ts-expect-error -- rotation is a boolean, not a string
      expectType<string>(e.rotation);
      return e.epoch;
    case "EnclaveRegistered":
      expectType<number>(e.platform);
      expectType<boolean>(e.debug);
      expectType<Hex>(e.evidence);
      return e.enclave;
    case "EnclaveLeft":
      expectType<string>(e.nonce);
      return e.enclave;
    case "PolicyPublished":
      expectType<readonly Hex[]>(e.signatures);
      return e.document;
    case "CollateralPublished":
      return e.collateral;
    case "KeyPackagePublished":
      expectType<Hex>(e.keyPackage);
      return e.nonce;
    case "SnapshotCommitted":
      expectType<Hex>(e.stateDigest);
      expectType<Hex>(e.snapshotHash);
      return e.at;
    default: {
      // Every kind is handled: a new kind in LEDGER_EVENT makes this fail to compile.
      const unhandled: never = e;
      return unhandled;
    }
  }
}

// Building an event: the kind decides which fields it must have.
const position = { seq: "1", timestamp: "1700000000", head, block: "12", logIndex: 0 } as const;
export const handshake: LedgerEvent = {
  kind: "HandshakeCommitted",
  ...position,
  epoch: "2",
  enclave: head,
  rotation: true,
  baseSeq: "0",
  handshake: head,
  signature: head,
};
// @ts-expect-error -- "BatchSubmited" is not a kind of event
export const misspelt: LedgerEvent = { kind: "BatchSubmited", ...position };
// @ts-expect-error -- a HandshakeCommitted's rotation is a boolean, not the string "true"
export const stringly: LedgerEvent = { ...handshake, kind: "HandshakeCommitted", rotation: "true" };
// @ts-expect-error -- an EnclaveLeft lacks its nonce and signature
export const left: LedgerEvent = { kind: "EnclaveLeft", ...position, enclave: head };
