// The state digest: what a batch commits to on chain, what every enclave compares with its own before
// it applies one, what a snapshot commitment names for joiners and what answers and receipts name for
// clients. Two layers:
//
//   root  = SHA-256("anonify/ledger-root/v1" ‖ app state kind ‖ stateDigest(app state)
//           ‖ stateDigest(nonces) ‖ receipts head ‖ u64 sequence ‖ u64 batches ‖ u64 void batches)
//   digest at position seq = HMAC-SHA256(key, "anonify/state-digest/v1" ‖ u64 seq ‖ head(seq) ‖ root)
//
// `stateDigest` (src/app/state-digest.ts) is incremental: a batch costs the paths it changed. The
// receipts are not in it (they are kept for the last 50,000 commands only, and a joiner has none of
// those before its join): a hash chain over each batch's receipts stands for them (`receiptsLink`),
// which a snapshot carries on. The key is the MLS exporter of the epoch in force at that position
// (`digestKeyOf`, group-member.ts): only members of that epoch can compute or check a digest, and it
// reveals nothing of a small state to anyone else, who could otherwise try states until one matched.
import { bytesToHex, encodeAbiParameters, type Hex, hexToBytes, parseAbiParameters } from "viem";
import type { StateValue } from "../app/canonical.js";
import { hmacSha256Of, sha256Of } from "../protocol/bytes.js";
import type { ChainPosition } from "../protocol/digests.js";
import type { Receipt } from "../protocol/receipts.js";
import type { LedgerAppState } from "./confidential-ledger.js";
import { stateDigest } from "./state-digest.js";

export const STATE_DIGEST_LABEL = "anonify/state-digest/v1";
const ROOT_LABEL = new TextEncoder().encode("anonify/ledger-root/v1");
const DIGEST_LABEL = new TextEncoder().encode(STATE_DIGEST_LABEL);
const RECEIPTS_LABEL = new TextEncoder().encode("anonify/receipts/v1");
const U64_BYTES = 8;

function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(U64_BYTES);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

type RootInputs = Pick<
  LedgerAppState,
  "appState" | "nonces" | "receiptsHead" | "sequence" | "batches" | "skippedBatches"
>;

/** The last root computed: most positions do not change the ledger (only batches do). */
let last: { inputs: RootInputs; app: Hex; root: Uint8Array } | undefined;

const sameInputs = (a: RootInputs, b: RootInputs): boolean =>
  a.appState === b.appState &&
  a.nonces === b.nonces &&
  a.receiptsHead === b.receiptsHead &&
  a.sequence === b.sequence &&
  a.batches === b.batches &&
  a.skippedBatches === b.skippedBatches;

/**
 * The root of a ledger's replicated state (see the top of this file); `app`: what it names of the
 * app (`appStateOf`: its name and state version).
 */
export function ledgerRoot(ledger: RootInputs, app: Hex): Uint8Array {
  if (last && last.app === app && sameInputs(last.inputs, ledger)) return last.root;
  const root = sha256Of([
    ROOT_LABEL,
    hexToBytes(app),
    stateDigest(ledger.appState),
    stateDigest(ledger.nonces),
    hexToBytes(ledger.receiptsHead),
    u64(ledger.sequence),
    u64(ledger.batches),
    u64(ledger.skippedBatches),
  ]);
  last = { inputs: { ...ledger }, app, root };
  return root;
}

/** The keyed state digest at a position: `root` is the ledger's there, `key` its epoch's. */
export function stateDigestAt(key: Uint8Array, at: ChainPosition, root: Uint8Array): Hex {
  return bytesToHex(hmacSha256Of(key, [DIGEST_LABEL, u64(at.seq), hexToBytes(at.head), root]));
}

/** The key of an epoch's state digests, from the MLS exporter's context: chain, contract, epoch. */
export const digestKeyContext = (chainId: number, contract: Hex, epoch: bigint): Uint8Array =>
  hexToBytes(
    encodeAbiParameters(parseAbiParameters("uint256, address, uint64"), [BigInt(chainId), contract, epoch]),
  );

/** The receipts chain after one batch: its position, then each receipt in order, by command. */
export function receiptsLink(
  previous: Hex,
  batchSeq: bigint,
  receipts: readonly { command: Hex; receipt: Receipt }[],
): Hex {
  const parts = receipts.map(({ command, receipt }) => {
    const value: Record<string, StateValue> = {
      command,
      sequence: receipt.sequence,
      status: receipt.status,
    };
    if (receipt.reason !== undefined) value.reason = receipt.reason;
    if (receipt.result !== undefined) value.result = receipt.result;
    return stateDigest(value);
  });
  return bytesToHex(sha256Of([RECEIPTS_LABEL, hexToBytes(previous), u64(batchSeq), ...parts]));
}
