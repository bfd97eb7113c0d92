// Reading batches' public outputs without an account (a page's "public outputs" view, anyone's): the
// network is checked as a client's is (network-trust.ts), and each record as `publicOutputs` checks
// it (public-outputs.ts: `forged_outputs`, `wrong_app`, the enclave's judgement). Nothing is signed,
// so nothing needs a key.
import type { AppIdentity } from "../protocol/digests.js";
import { type NetworkOptions, trustNetwork } from "./network-trust.js";
import { nodeJson } from "./node-api.js";
import { type PublishedOutputs, readPublicOutputs } from "./public-outputs.js";

export type OutputsReaderOptions = NetworkOptions & { fetch?: typeof globalThis.fetch };

export type OutputsReader = {
  /** The app the network runs, as its enclave registered it: records of another app are refused. */
  appIdentity: AppIdentity;
  /** Batch `batch`'s public outputs, checked; undefined until published (`AnonifyClient.publicOutputs`). */
  publicOutputs(batch: bigint, fromBlock?: bigint): Promise<PublishedOutputs | undefined>;
};

/** Checks the network (`AnonifyClient.connect`'s errors) and reads outputs from its chain. */
export async function connectOutputsReader(options: OutputsReaderOptions): Promise<OutputsReader> {
  const fetcher = options.fetch ?? globalThis.fetch;
  const { domain, onChain, trusted, runs } = await trustNetwork(options, fetcher, (path, schema) =>
    nodeJson(fetcher, options.node, path, schema),
  );
  return {
    appIdentity: runs,
    publicOutputs: (batch, fromBlock) =>
      readPublicOutputs({ domain, app: runs, onChain, trusted }, batch, fromBlock),
  };
}
