// Type tests (checked by `tsc --noEmit`, never run: the test runner takes `*.test.ts` only) that the
// enclave call table's types flow from `ENCLAVE_CALLS` to the host's typed call: what each call
// takes and returns is read from the table, and a call the table does not allow does not compile.
import type { Hex } from "viem";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import type { EnclaveProcess, EnclaveCalls as HostEnclaveCalls } from "../host/enclave-process.js";
import type {
  ApplyResult,
  GroupView,
  HandshakeProposal,
  InitResult,
  SealBatchResult,
  StatusResult,
} from "./call-results.js";
import type { CallName, CallParams, CallResult } from "./calls.js";
import type { LedgerEvent } from "./chain-events.js";

declare const enclave: EnclaveProcess;
declare const contract: Hex;
declare const signature: Hex;
declare const event: LedgerEvent;

// The names are the table's keys, and nothing else.
type _Names = Expect<
  Equal<
    CallName,
    | "status"
    | "init"
    | "quote"
    | "signLeave"
    | "signPeerAnnouncement"
    | "restoreState"
    | "resumeSession"
    | "keyPackage"
    | "applyEvents"
    | "checkOutputs"
    | "proposeHandshake"
    | "groupStatus"
    | "submitCommand"
    | "sealBatch"
    | "commandStatus"
    | "query"
    | "publicQuery"
    | "snapshotChunk"
    | "signSnapshot"
    | "installSnapshot"
  >
>;

// Parameters are inferred from each call's schema: required fields, optional ones, JSON types.
type _InitParams = Expect<
  Equal<
    CallParams<"init">,
    { readonly chainId: number; readonly contract: Hex; readonly sealedIdentity?: Hex | undefined }
  >
>;
type _SignLeaveParams = Expect<Equal<CallParams<"signLeave">, { readonly nonce: string }>>;
type _ProposeParams = Expect<
  Equal<CallParams<"proposeHandshake">, { readonly rotate?: boolean | undefined }>
>;
type _ApplyParams = Expect<Equal<CallParams<"applyEvents">, { readonly events: readonly LedgerEvent[] }>>;

// Results are the types the table names.
type _StatusResult = Expect<Equal<CallResult<"status">, StatusResult>>;
type _InitResult = Expect<Equal<CallResult<"init">, InitResult>>;
type _GroupStatusResult = Expect<Equal<CallResult<"groupStatus">, GroupView>>;
type _ProposeResult = Expect<Equal<CallResult<"proposeHandshake">, HandshakeProposal>>;
type _ApplyResult = Expect<Equal<CallResult<"applyEvents">, ApplyResult>>;
type _SealBatchResult = Expect<Equal<CallResult<"sealBatch">, SealBatchResult>>;
type _SignLeaveResult = Expect<Equal<CallResult<"signLeave">, { signature: Hex }>>;

// The host's `call` returns the table's result for the name given.
export async function hostCallResults(): Promise<void> {
  const view = await enclave.call("groupStatus");
  type _View = Expect<Equal<typeof view, GroupView>>;
  expectType<string | undefined>(view.group.epoch);
  expectType<string>(view.ledger.sequence);

  const status = await enclave.call("status");
  type _Status = Expect<Equal<typeof status, StatusResult>>;

  const init = await enclave.call("init", { chainId: 31337, contract });
  type _Init = Expect<Equal<typeof init, InitResult>>;
  expectType<"first-start" | "measurement-changed" | "platform-cannot-seal" | undefined>(init.created);

  const applied = await enclave.call("applyEvents", { events: [event] });
  type _Applied = Expect<Equal<typeof applied, ApplyResult>>;

  const batches = await enclave.call("sealBatch", { maxCommands: 10, known: [signature] });
  type _Batches = Expect<Equal<typeof batches, SealBatchResult>>;

  const left = await enclave.call("signLeave", { nonce: "3" });
  expectType<Hex>(left.signature);
  // @ts-expect-error -- signLeave's result has no `sealedState` (keyPackage's has)
  left.sealedState;
}

// `proposeHandshake` answers either no handshake or a signed one: narrowing on `handshake === null`
// gives the fields of each.
export async function handshakeNarrowing(): Promise<void> {
  const proposal = await enclave.call("proposeHandshake", { rotate: true });
  type _Proposal = Expect<Equal<typeof proposal, HandshakeProposal>>;
  expectType<Hex | undefined>(proposal.sealedState);
  // @ts-expect-error -- `epoch` exists only once `handshake` is known not to be null
  proposal.epoch;
  if (proposal.handshake === null) {
    // @ts-expect-error -- a proposal without a handshake carries no signature
    proposal.signature;
    return;
  }
  expectType<Hex>(proposal.handshake);
  expectType<string>(proposal.epoch);
  expectType<boolean>(proposal.rotation);
  expectType<string>(proposal.baseSeq);
  expectType<Hex>(proposal.signature);
  // @ts-expect-error -- the epoch crosses the boundary as a decimal string, not a bigint
  expectType<bigint>(proposal.epoch);
}

// Parameters are optional exactly when every field of the call's schema is. (Not tested: that a
// call without parameters refuses any: `object({})` types them `{}`, which takes any non-null value.)
export async function optionalParams(): Promise<void> {
  await enclave.call("status");
  await enclave.call("proposeHandshake");
  await enclave.call("sealBatch");
  await enclave.call("sealBatch", {});
  await enclave.call("restoreState", { sealedState: "0x01" });
  // @ts-expect-error -- init's params (chainId, contract) are required
  await enclave.call("init");
  // @ts-expect-error -- applyEvents's `events` is required
  await enclave.call("applyEvents");
}

// Calls the table does not allow.
export async function refusedCalls(): Promise<void> {
  // @ts-expect-error -- "groupState" is not a call of ENCLAVE_CALLS
  await enclave.call("groupState");
  // @ts-expect-error -- a name the table lacks is refused whatever it is passed
  await enclave.call("nope", {});
  // @ts-expect-error -- the name must be a literal call name, not any string
  await enclave.call("status" as string);

  // @ts-expect-error -- chainId is a number, not a decimal string
  await enclave.call("init", { chainId: "31337", contract });
  // @ts-expect-error -- contract is 0x-prefixed hex
  await enclave.call("init", { chainId: 1, contract: "1234" });
  // @ts-expect-error -- missing required parameter `contract`
  await enclave.call("init", { chainId: 1 });
  // @ts-expect-error -- `chainID` is not a field of init (a typo must not pass as an optional field)
  await enclave.call("init", { chainID: 1, contract });
  // @ts-expect-error -- `sealedIdentityHex` is not a field of init, even beside the required ones
  await enclave.call("init", { chainId: 1, contract, sealedIdentityHex: signature });

  // @ts-expect-error -- a record nonce crosses as a decimal string, not a bigint
  await enclave.call("signLeave", { nonce: 3n });
  // @ts-expect-error -- a record nonce crosses as a decimal string, not a number
  await enclave.call("keyPackage", { nonce: 3 });
  // @ts-expect-error -- `rotate` is a boolean
  await enclave.call("proposeHandshake", { rotate: "yes" });
  // @ts-expect-error -- events are LedgerEvents, not strings
  await enclave.call("applyEvents", { events: ["0x00"] });
  // @ts-expect-error -- maxCommands is a number
  await enclave.call("sealBatch", { maxCommands: 10n });
  await enclave.call("installSnapshot", {
    bytes: "0x00",
    // @ts-expect-error -- installSnapshot's commitment lacks its `signature`
    commitment: { enclave: contract, nonce: "1", stateDigest: signature },
  });
}

// The host's components take `EnclaveCalls` (the process or the supervised handle): the same typing.
export async function hostHandle(calls: HostEnclaveCalls): Promise<void> {
  const view = await calls.call("groupStatus");
  type _View = Expect<Equal<typeof view, GroupView>>;
  // @ts-expect-error -- submitCommand needs its envelope
  await calls.call("submitCommand", {});
  // @ts-expect-error -- callUnchecked is not part of what components get
  await calls.callUnchecked("status", {});
}
