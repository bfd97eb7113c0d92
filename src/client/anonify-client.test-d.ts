// Type tests (checked by `tsc --noEmit`, never run: the test runner takes `*.test.ts` only) of what
// the client's calls return: a query's result with the checked point it reflects, and a command's
// status as one of the listed strings only.
//
// A client connected with an app's definition (`connect({ app: erc20 })`) knows its command and query
// names and their params: a name or a field the app does not define, or a value of the wrong type,
// fails to compile. One connected by name (`app: "erc20"`, as the CLI does) takes any name and
// record, checked by the enclave at run time. A query's result is a `StateValue` either way.
import type { Address, Hex } from "viem";
import type erc20 from "../../apps/erc20/index.js";
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
declare const typed: AnonifyClient<typeof erc20>;
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
  const { id: sent, responseKey: key } = await client.send("transfer", { to: owner, amount: 1n });
  expectType<Hex>(sent);
  expectType<Uint8Array>(key);
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

// The app's definition types every call: names and params flow from its schemas.
export async function typedCalls(): Promise<void> {
  await typed.call("transfer", { to: owner, amount: 1n });
  await typed.send("approve", { spender: owner, amount: 2n });
  await typed.call("transferFrom", { from: owner, to: owner, amount: 3n });
  const balance = await typed.queryAt("balanceOf", {});
  type _Balance = Expect<Equal<typeof balance, QueryResult>>;
  await typed.query("allowance", { owner, spender: owner });

  // @ts-expect-error -- erc20 has no command "airdrop"
  await typed.call("airdrop", { to: owner, amount: 1n });
  // @ts-expect-error -- transfer's amount is a bigint, not a number
  await typed.call("transfer", { to: owner, amount: 1 });
  // @ts-expect-error -- transfer needs an amount
  await typed.call("transfer", { to: owner });
  // @ts-expect-error -- transfer has no field "memo"
  await typed.call("transfer", { to: owner, amount: 1n, memo: "hi" });
  // @ts-expect-error -- "to" is an address, not any string
  await typed.send("transfer", { to: "alice", amount: 1n });
  // @ts-expect-error -- erc20 has no query "balance"
  await typed.query("balance", {});
  // @ts-expect-error -- balanceOf takes no params (it answers the caller's own balance)
  await typed.query("balanceOf", { owner });
  // @ts-expect-error -- a query is not a command
  await typed.call("balanceOf", {});

  // By name only, the client cannot know the app: any name and record compile.
  await client.call("airdrop", { anything: 1 });
}
