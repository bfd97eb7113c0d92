// Type tests (checked by `tsc --noEmit`, never run: the test runner takes `*.test.ts` only) that
// contract writes are typed from the generated ABI (`anonifyAbi`, `as const`): only the contract's
// state-changing functions can be named, and their arguments are the ABI's, in order and in type.
import type { Address, Hex, TransactionReceipt } from "viem";
import type { Equal, Expect } from "../../test/support/type-assert.js";
import type { ChainWriter } from "../host/chain-io/chain-writer.js";
import {
  type AnonifyWrite,
  type AnonifyWriteArgs,
  type LedgerWallet,
  writeAnonify,
  writeAnonifyMined,
} from "./chain.js";

declare const wallet: LedgerWallet;
declare const contract: Address;
declare const enclave: Address;
declare const bytes: Hex;
declare const signature: Hex;
declare const writer: ChainWriter;

// The writable functions are exactly the ABI's nonpayable ones (no view or pure function, event or error).
type _Writes = Expect<
  Equal<
    AnonifyWrite,
    | "acceptOwnership"
    | "announcePeer"
    | "commitHandshake"
    | "commitSnapshot"
    | "publishOutputs"
    | "leave"
    | "publishCollateral"
    | "publishKeyPackage"
    | "publishPolicy"
    | "registerEnclave"
    | "revokeEnclave"
    | "setDebugAllowed"
    | "setMaxReportAge"
    | "setMeasurementAllowed"
    | "setRotationInterval"
    | "setTrustedSigner"
    | "submitBatch"
    | "transferOwnership"
  >
>;

// Arguments are the ABI's inputs in order: uint64 → bigint, uint32 → number, bytes/bytes32 → Hex.
type _CommitHandshakeArgs = Expect<
  Equal<
    AnonifyWriteArgs<"commitHandshake">,
    readonly [bigint, Hex, boolean, bigint, Hex] & readonly unknown[]
  >
>;
type _SubmitBatchArgs = Expect<
  Equal<
    AnonifyWriteArgs<"submitBatch">,
    readonly [bigint, Hex, number, Address, bigint, Hex, Hex] & readonly unknown[]
  >
>;
type _LeaveArgs = Expect<Equal<AnonifyWriteArgs<"leave">, readonly [bigint, Hex] & readonly unknown[]>>;
type _PublishPolicyArgs = Expect<
  Equal<AnonifyWriteArgs<"publishPolicy">, readonly [Hex, readonly Hex[]] & readonly unknown[]>
>;
type _RotationIntervalArgs = Expect<
  Equal<AnonifyWriteArgs<"setRotationInterval">, readonly [number] & readonly unknown[]>
>;

export async function writes(): Promise<void> {
  // commitHandshake(uint64 epoch, bytes handshake, bool rotation, uint64 baseSeq, bytes signature)
  const hash = await writeAnonify(wallet, contract, "commitHandshake", [3n, bytes, false, 41n, signature]);
  type _Hash = Expect<Equal<typeof hash, Hex>>;
  // With a gas limit (a write that cannot be simulated yet).
  await writeAnonify(
    wallet,
    contract,
    "submitBatch",
    [3n, bytes, 2, enclave, 41n, bytes, signature],
    500_000n,
  );
  const receipt = await writeAnonifyMined(wallet, contract, "leave", [7n, signature]);
  type _Receipt = Expect<Equal<typeof receipt, TransactionReceipt>>;
  await writeAnonifyMined(wallet, contract, "publishPolicy", [bytes, [signature, signature]]);
  await writeAnonifyMined(wallet, contract, "setRotationInterval", [3600]);
  await writeAnonifyMined(wallet, contract, "setDebugAllowed", [true]);
}

// Names the contract has but cannot be written, and names it does not have.
export async function refusedNames(): Promise<void> {
  // @ts-expect-error -- "commitHandshakes" is no function of the contract
  await writeAnonify(wallet, contract, "commitHandshakes", [3n, bytes, false, 41n, signature]);
  // @ts-expect-error -- `epoch` is a view function: nothing to write
  await writeAnonify(wallet, contract, "epoch", []);
  // @ts-expect-error -- `getEnclave` is a view function: nothing to write
  await writeAnonify(wallet, contract, "getEnclave", [enclave]);
  // @ts-expect-error -- `reportDigest` is a pure function: nothing to write
  await writeAnonify(wallet, contract, "reportDigest", [bytes]);
  // @ts-expect-error -- `HandshakeCommitted` is an event, not a function
  await writeAnonifyMined(wallet, contract, "HandshakeCommitted", []);
  // @ts-expect-error -- `StaleEpoch` is a custom error, not a function
  await writeAnonifyMined(wallet, contract, "StaleEpoch", [1n, 2n]);
  // @ts-expect-error -- the name must be a literal function name, not any string
  await writeAnonify(wallet, contract, "leave" as string, [7n, signature]);
}

// Arguments that are not the function's inputs.
export async function refusedArgs(): Promise<void> {
  // @ts-expect-error -- commitHandshake takes five arguments, not four (signature missing)
  await writeAnonify(wallet, contract, "commitHandshake", [3n, bytes, false, 41n]);
  // @ts-expect-error -- commitHandshake takes five arguments, not six
  await writeAnonify(wallet, contract, "commitHandshake", [3n, bytes, false, 41n, signature, signature]);
  // @ts-expect-error -- uint64 epoch is a bigint, not a number
  await writeAnonify(wallet, contract, "commitHandshake", [3, bytes, false, 41n, signature]);
  // @ts-expect-error -- bool rotation is a boolean, not a string
  await writeAnonify(wallet, contract, "commitHandshake", [3n, bytes, "false", 41n, signature]);
  // @ts-expect-error -- bytes handshake is 0x-prefixed hex
  await writeAnonify(wallet, contract, "commitHandshake", [3n, "abcd", false, 41n, signature]);
  // @ts-expect-error -- arguments in the wrong order (rotation and handshake swapped)
  await writeAnonify(wallet, contract, "commitHandshake", [3n, false, bytes, 41n, signature]);
  // @ts-expect-error -- leave is (uint64 nonce, bytes signature), not the reverse
  await writeAnonifyMined(wallet, contract, "leave", [signature, 7n]);
  // @ts-expect-error -- uint32 is a number, not a bigint
  await writeAnonifyMined(wallet, contract, "setRotationInterval", [3600n]);
  // @ts-expect-error -- publishPolicy's signatures are bytes[], not one bytes
  await writeAnonifyMined(wallet, contract, "publishPolicy", [bytes, signature]);
  // @ts-expect-error -- revokeEnclave takes an address
  await writeAnonifyMined(wallet, contract, "revokeEnclave", ["enclave-1"]);
  // @ts-expect-error -- arguments are a tuple, not an object of named inputs
  await writeAnonifyMined(wallet, contract, "leave", { nonce: 7n, signature });
}

// A node's writer (src/host/chain-io/chain-writer.ts) takes the same names and arguments.
export async function nodeWriter(): Promise<void> {
  const sent = await writer.send("leave", [7n, signature]);
  type _Sent = Expect<Equal<typeof sent, boolean>>;
  const hash = await writer.broadcast("commitHandshake", [3n, bytes, true, 41n, signature], 1_000_000n);
  type _Hash = Expect<Equal<typeof hash, Hex | undefined>>;
  // @ts-expect-error -- `eventCount` is a view function: nothing to send
  await writer.send("eventCount", []);
  // @ts-expect-error -- baseSeq (uint64) left out: the signature lands where it goes
  await writer.broadcast("commitHandshake", [3n, bytes, true, signature]);
}
