// Reading a batch's public outputs (src/protocol/public-outputs.ts): what its commands published, as
// the enclave that submitted the batch signed it on chain. Nothing about it is taken on the chain's
// or a node's word: the signature must be that enclave's over the batch, its event's position and head
// and the record's bytes, and the enclave one this client trusts, registered with its app (the same
// check as a public answer's, public-query.ts); the record must decode strictly.
import { type Address, hexToBytes } from "viem";
import type { AppIdentity, LedgerDomain } from "../protocol/digests.js";
import { outputsDigest } from "../protocol/digests.js";
import { decodeOutputs, type PublicOutput } from "../protocol/public-outputs.js";
import type { ChainChecks, PublishedRecord } from "./chain-checks.js";
import type { TrustedEnclaves } from "./enclave-evidence.js";
import { AnonifyClientError } from "./errors.js";
import { checkEnclaveSigned } from "./public-query.js";

/** A batch's public outputs, checked: each command's sequence and what it published, in order. */
export type PublishedOutputs = {
  batch: bigint;
  /** The enclave that submitted the batch and signed its outputs. */
  enclave: Address;
  /** The position of the batch's event, and the block the outputs were published in. */
  seq: bigint;
  block: bigint;
  outputs: PublicOutput[];
};

/**
 * What the commands of batch `batch` published (`publish`: an auction's winner and price), read from
 * the chain (from block `fromBlock`, a receipt's `batch.block`, where given) and checked as
 * `checkPublishedOutputs` does; undefined while none is published. A receipt names its batch
 * (`receipt.batch.index`).
 */
export async function readPublicOutputs(
  p: { domain: LedgerDomain; app: AppIdentity; onChain: ChainChecks; trusted: TrustedEnclaves },
  batch: bigint,
  fromBlock?: bigint,
): Promise<PublishedOutputs | undefined> {
  const record = await p.onChain.outputsOf(batch, fromBlock);
  return record && checkPublishedOutputs({ ...p, record });
}

/**
 * The outputs of `record`, once checked: `forged_outputs` if its bytes do not decode or its signature
 * is not its enclave's over them and the batch's position; `wrong_app`, `enclave_not_active` or
 * `enclave_not_allowed` if this client does not take that enclave's word.
 */
export async function checkPublishedOutputs(p: {
  domain: LedgerDomain;
  app: AppIdentity;
  trusted: TrustedEnclaves;
  record: PublishedRecord;
}): Promise<PublishedOutputs> {
  const { record } = p;
  let outputs: PublicOutput[];
  try {
    outputs = decodeOutputs(hexToBytes(record.outputs));
  } catch (error) {
    throw new AnonifyClientError(
      "forged_outputs",
      `the outputs of batch ${record.batch} do not decode: ${(error as Error).message}`,
    );
  }
  const digest = outputsDigest(
    p.domain,
    record.batch,
    { seq: record.seq, head: record.head },
    record.outputs,
  );
  await checkEnclaveSigned(p, digest, record.signature, record.enclave, {
    code: "forged_outputs",
    what: `the outputs of batch ${record.batch} at event ${record.seq}`,
  });
  const { batch, enclave, seq, block } = record;
  return { batch, enclave, seq, block, outputs };
}
