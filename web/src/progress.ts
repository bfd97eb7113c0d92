// Each submitted command's progress, as the SDK learns it: signed and sealed in this page, accepted
// by the node, ordered in a batch on chain, applied or failed (the reason opened from the receipt
// sealed to this page) with the result the app gave, if any, and final once its batch is deep
// enough. Announced to screen readers.
import type { Hex } from "viem";
import type { AnonifyClient, CheckedReceipt } from "../../src/client/anonify-client.js";
import { errorText, h } from "./dom.js";
import { valueView } from "./result-view.js";

/** How long one status request asks the node to hold it until the command is ordered. */
const STATUS_WAIT_MS = 10_000;

/** A step's line: its text, then any details (a command's result). */
export type Steps = { add(text: string, state?: "done" | "failed", ...details: Node[]): void };

/** A list item for one command, with a line per step. */
export function progressItem(list: HTMLElement, title: string): Steps {
  const steps = h("ol", { class: "steps" });
  list.prepend(h("li", { class: "command" }, h("strong", {}, title), steps));
  return {
    add(text, state = "done", ...details) {
      steps.append(h("li", { class: state }, text, ...details));
    },
  };
}

/** Sends a command and reports each step until it is final (or refused); resolves with its receipt. */
export async function track(
  client: AnonifyClient,
  command: string,
  params: Record<string, unknown>,
  steps: Steps,
  nextBlock: () => Promise<void>,
): Promise<CheckedReceipt | undefined> {
  let id: Hex;
  let responseKey: Uint8Array;
  try {
    ({ id, responseKey } = await client.send(command, params, undefined, (step) => {
      if (step === "sealed") steps.add("sealed");
    }));
  } catch (error) {
    steps.add(`refused: ${errorText(error)}`, "failed");
    return undefined;
  }
  steps.add("accepted");
  let receipt: CheckedReceipt | undefined;
  let submitted = false;
  while (!receipt) {
    const status = await client.status(id, responseKey, STATUS_WAIT_MS);
    if (status.status === "submitted" && !submitted) {
      submitted = true;
      steps.add("submitted to the chain");
    }
    receipt = status.receipt;
  }
  if (receipt.batch) steps.add(`ordered in batch ${receipt.batch.index} (block ${receipt.batch.block})`);
  if (receipt.status === "applied") steps.add("applied");
  else steps.add(`failed: ${receipt.reason ?? "no reason given"}`, "failed");
  // What the app gave the sender in the receipt (`withResult`): an auction's winner, a ballot's tally.
  if (receipt.status === "applied" && receipt.result !== undefined)
    steps.add("result: ", "done", h("output", { class: "result" }, valueView(receipt.result)));
  // Final once the batch is at the confirmation depth (0 on the devnet): checked again at each block.
  while (!receipt.final) {
    await nextBlock();
    receipt = await client.checkReceipt(receipt);
  }
  steps.add("final");
  return receipt;
}
