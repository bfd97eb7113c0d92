// Type tests (checked by `tsc --noEmit`, never run: the test runner takes `*.test.ts` only) of what
// the client's calls return: a query's result with the checked point it reflects, and a command's
// status as one of the listed strings only.
//
// The client is not generic over the app: command and query names are any string, their params any
// record, and a query's result is any `StateValue` (not the app's query result type), so a name or
// params the app does not define compile here and fail only at run time.
import type { Address, Hex } from "viem";
import { type Equal, type Expect, expectType } from "../../test/support/type-assert.js";
import type { StateValue } from "../app/canonical.js";
import type { CommandStatus as NodeCommandStatus, ReceiptStatus } from "../protocol/receipts.js";
import type {
  AnonifyClient,
  AnswerPosition,
  CheckedReceipt,
  CommandView,
  QueryResult,
} from "./anonify-client.js";

declare const client: AnonifyClient;
declare const owner: Address;
declare const id: Hex;
declare const responseKey: Uint8Array;

type _QueryResult = Expect<Equal<QueryResult, { result: StateValue; at: AnswerPosition }>>;

// `queryAt` answers the result and the point it reflects, as the client checked it on chain.
export async function queries(): Promise<void> {
  const answer = await client.queryAt("balanceOf", { owner });
  type _Answer = Expect<Equal<typeof answer, QueryResult>>;
  type _Result = Expect<Equal<typeof answer.result, StateValue>>;
  type _At = Expect<Equal<typeof answer.at, AnswerPosition>>;
  expectType<bigint>(answer.at.seq);
  expectType<Hex>(answer.at.head);
  expectType<bigint>(answer.at.block);
  expectType<Hex | undefined>(answer.at.digest);
  expectType<bigint>(answer.at.behind);
  expectType<number>(answer.at.lagSeconds);
  expectType<number>(answer.at.claims);
  if (typeof answer.result === "bigint") expectType<bigint>(answer.result);

  const result = await client.query("balanceOf", { owner });
  type _QueryOnly = Expect<Equal<typeof result, StateValue>>;

  // @ts-expect-error -- a StateValue is not known to be a bigint until narrowed
  expectType<bigint>(answer.result);
  // @ts-expect-error -- the answer's position counts in bigints, not numbers
  expectType<number>(answer.at.seq);
  // @ts-expect-error -- the answer has no `position` (it is `at`)
  answer.position;
  // @ts-expect-error -- a query takes its params, even when empty
  await client.queryAt("totalSupply");
  // @ts-expect-error -- params are a record of named fields, not a bare value
  await client.queryAt("balanceOf", owner);
}

// A command's status admits only the listed strings: the node's three, then the receipt's two.
type _NodeStatuses = Expect<Equal<NodeCommandStatus, "queued" | "submitted" | "ordered">>;
type _ReceiptStatuses = Expect<Equal<ReceiptStatus, "applied" | "failed">>;
type _ViewStatuses = Expect<
  Equal<CommandView["status"], "queued" | "submitted" | "ordered" | "applied" | "failed">
>;

/** Every status handled: adding one to the type makes the `never` below fail to compile. */
function describe(status: CommandView["status"]): string {
  switch (status) {
    case "queued":
    case "submitted":
      return "waiting";
    case "ordered":
      return "ordered, receipt not opened";
    case "applied":
    case "failed":
      return status;
    default: {
      const unhandled: never = status;
      return unhandled;
    }
  }
}

export async function commands(): Promise<void> {
  const view = await client.status(id, responseKey);
  type _View = Expect<Equal<typeof view, CommandView>>;
  expectType<string>(describe(view.status));
  expectType<CheckedReceipt | undefined>(view.receipt);
  if (view.receipt) {
    expectType<boolean>(view.receipt.final);
    expectType<ReceiptStatus>(view.receipt.status);
  }
  const { id: sent, responsePrivateKey } = await client.send("transfer", { to: owner, amount: 1n });
  expectType<Hex>(sent);
  expectType<Uint8Array>(responsePrivateKey);
  const receipt = await client.call("transfer", { to: owner, amount: 1n });
  type _Receipt = Expect<Equal<typeof receipt, CheckedReceipt & { id: Hex }>>;
  const waited = await client.waitForReceipt(id, responseKey);
  type _Waited = Expect<Equal<typeof waited, CheckedReceipt>>;

  // @ts-expect-error -- "pending" is not a command status: the comparison can never be true
  if (view.status === "pending") return;
  // @ts-expect-error -- "rejected" is not a command status
  const made: CommandView = { id, status: "rejected" };
  // @ts-expect-error -- a receipt says applied or failed, never queued
  const fromReceipt: ReceiptStatus = "queued";
  // @ts-expect-error -- the node's statuses do not include a receipt's
  const fromNode: NodeCommandStatus = "applied";
  // @ts-expect-error -- the receipt is there only once opened: it may be undefined
  view.receipt.final;
  expectType<unknown>([made, fromReceipt, fromNode]);
}
