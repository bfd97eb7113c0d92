// Batches' public outputs (an auction's winner and price at close), read from the chain's record and
// checked by the SDK as `publicOutputs` checks it (src/client/public-outputs.ts): signed by a trusted
// enclave of the network's app over the batch's position, or refused by name (`forged_outputs`,
// `wrong_app`), never shown on the RPC's or a node's word. Values are shown as results are
// (result-view.ts). Two places: under the progress of a command the app declares publishing
// (`publishes: true`) once its receipt is in, and a view where anyone reads a batch's outputs by its
// number, without a key.
import { maxUint64 } from "viem";
import type { CheckedReceipt } from "../../src/client/chain-checks.js";
import { defaultPolicyName, ENCLAVE_POLICIES } from "../../src/client/enclave-policy.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { connectOutputsReader } from "../../src/client/outputs-reader.js";
import type { PublishedOutputs } from "../../src/client/public-outputs.js";
import { CHAIN_POLL_MS } from "./chain.js";
import { errorText, fill, h, labelledForm } from "./dom.js";
import type { Steps } from "./progress.js";
import { valueView } from "./result-view.js";

/** Reads batch `batch`'s outputs from block `fromBlock` on; undefined while none is on chain. */
export type ReadOutputs = (batch: bigint, fromBlock?: bigint) => Promise<PublishedOutputs | undefined>;

/**
 * How long the page looks for a batch's record after its receipt: the enclave signs it once it has
 * applied the batch and its host publishes it a few blocks later; past this, "not (yet)" is said.
 */
export const OUTPUTS_WAIT_MS = 30_000;
const NOT_YET_TEXT = "no public output (yet)";
const NONE_TEXT = "no public output";

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The batch's record once on chain and checked, or undefined when the wait ends without one. */
export async function awaitOutputs(
  read: ReadOutputs,
  batch: bigint,
  fromBlock?: bigint,
  waitMs = OUTPUTS_WAIT_MS,
): Promise<PublishedOutputs | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const published = await read(batch, fromBlock);
    if (published || Date.now() >= deadline) return published;
    await delay(CHAIN_POLL_MS);
  }
}

/** Who signed the record and where it is, for people. */
const recordText = (p: PublishedOutputs) =>
  `batch ${p.batch}, published in block ${p.block} by enclave ${p.enclave}`;

/** A record's outputs, each under the sequence of the command that published it. */
export function outputsView(published: PublishedOutputs): HTMLElement {
  return h(
    "ol",
    { class: "outputs", title: recordText(published) },
    ...published.outputs.map(({ sequence, output }) =>
      h("li", {}, `command ${sequence}: `, h("output", { class: "public-output" }, valueView(output))),
    ),
  );
}

/**
 * Under a command's progress: what it published, from its batch's record on chain; that it published
 * nothing (its batch's record has no output of it, or none came within the wait); or the refusal.
 */
export async function commandOutput(steps: Steps, receipt: CheckedReceipt, read: ReadOutputs): Promise<void> {
  if (receipt.status !== "applied" || !receipt.batch) return;
  try {
    const published = await awaitOutputs(read, receipt.batch.index, receipt.batch.block);
    if (!published) return steps.add(NOT_YET_TEXT);
    const mine = published.outputs.find((o) => o.sequence === receipt.sequence);
    if (!mine) return steps.add(NONE_TEXT);
    const shown = h(
      "output",
      { class: "public-output", title: recordText(published) },
      valueView(mine.output),
    );
    steps.add("public output: ", "done", shown);
  } catch (error) {
    // The SDK's refusals (a forged record) apart from a chain that could not be read at all.
    const what = error instanceof AnonifyClientError ? "refused" : "not read";
    steps.add(`public output ${what}: ${errorText(error)}`, "failed");
  }
}

/**
 * The view where anyone reads a batch's outputs by its number: the network is checked as the wallet's
 * client checks it (once, at the first read; again after a failure), with no key asked.
 */
export function outputsLookup(profile: NetworkProfile, node: string): HTMLElement {
  let reader: Promise<ReadOutputs> | undefined;
  const read = () => {
    reader ??= connectOutputsReader({
      network: profile,
      node,
      enclavePolicy: ENCLAVE_POLICIES[defaultPolicyName(profile.chainId)],
      fetch: (input, init) => fetch(input, init),
    }).then((r) => r.publicOutputs);
    reader.catch(() => {
      reader = undefined;
    });
    return reader;
  };
  const batchInput = h("input", { id: "outputs-batch", inputmode: "numeric", required: true });
  const result = h("div", { id: "outputs-result", "aria-live": "polite" });
  const form = labelledForm(
    "public outputs",
    [{ label: "batch", input: batchInput }],
    "read outputs",
    async () => {
      fill(result, "reading…");
      try {
        const text = batchInput.value.trim();
        // Batch indexes are uint64 on chain: anything else is said here, before any request.
        if (!/^\d+$/.test(text) || BigInt(text) > maxUint64)
          throw new Error("a batch is a whole number below 2^64");
        const published = await (await read())(BigInt(text));
        fill(
          result,
          published
            ? h("div", {}, h("p", {}, recordText(published)), outputsView(published))
            : h("p", {}, `${NOT_YET_TEXT}: batch ${text} has no record on chain`),
        );
      } catch (error) {
        fill(result, h("p", { role: "alert" }, errorText(error)));
      }
    },
  );
  return h(
    "section",
    { "aria-labelledby": "outputs-title" },
    h("h2", { id: "outputs-title" }, "Public outputs"),
    h(
      "p",
      {},
      "What a batch's commands published, as the enclave that submitted it signed it on chain: checked here, not taken on the RPC's or a node's word.",
    ),
    form,
    result,
  );
}
