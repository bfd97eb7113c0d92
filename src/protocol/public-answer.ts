// A public query's answer (a query the app declares `public`: an auction's result, a ballot's tally),
// for anyone, without an account: answered in clear and signed by the enclave that computed it, with
// the chain point it reflects. A reader checks the signer is an enclave the contract records and it
// trusts (its evidence judged, as for any enclave it encrypts to) and the point against the chain
// (`checkAnswer`: the event, its head and the state digests the chain records there), so a node can
// refuse to answer but cannot make up one.
//
// What the enclave signs, as a raw digest (src/protocol/signatures.ts):
//   keccak256(abi.encode(PUBLIC_ANSWER_TAG, chainId, contract, appId, keccak256(name),
//             keccak256(params), keccak256(outcome), seq, head, block, digest))
// name and params as the reader sent them (params: the canonical JSON of src/protocol/wire.ts),
// outcome the canonical bytes (src/app/canonical.ts) of `{status: "ok", result}` or
// `{status: "rejected", reason}`, and the point (digest: the zero hash where the enclave computed none).
import { encodeAbiParameters, type Hex, keccak256, parseAbiParameters, toBytes } from "viem";
import { canonicalJson, decodeValue, encodeValue, type StateValue } from "../app/canonical.js";
import type { QueryOutcome } from "../app/executor.js";
import { type LedgerDomain, ZERO_HASH } from "./digests.js";
import type { LedgerPoint } from "./receipts.js";

const PUBLIC_ANSWER_TAG = keccak256(toBytes("anonify.public-answer.v1"));

export type PublicAnswer = {
  /** The query's name and params (canonical JSON) as asked. */
  readonly name: string;
  readonly params: string;
  readonly outcome: QueryOutcome;
  /** The point the answer reflects: the last event the answering enclave applied. */
  readonly at: LedgerPoint;
};

/**
 * A public query's params as asked and signed: the canonical JSON of an object (src/app/canonical.ts),
 * as a signed query's; a TypeError names what is not.
 */
export function publicParams(params: unknown): string {
  if (typeof params !== "object" || params === null || Array.isArray(params))
    throw new TypeError("params must be a JSON object");
  return canonicalJson(params);
}

/** The canonical bytes of an outcome: what crosses the boundary and the API, and what is signed. */
export function encodeOutcome(outcome: QueryOutcome): Uint8Array {
  return encodeValue(
    outcome.status === "ok"
      ? { status: "ok", result: outcome.result }
      : { status: "rejected", reason: outcome.reason },
  );
}

/** An outcome from its canonical bytes; anything but one of the two shapes is refused. */
export function decodeOutcome(bytes: Uint8Array): QueryOutcome {
  const value = decodeValue(bytes);
  if (typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Map)) {
    const record = value as Record<string, StateValue>;
    const keys = Object.keys(record).sort().join();
    if (record.status === "ok" && keys === "result,status" && record.result !== undefined)
      return { status: "ok", result: record.result };
    if (record.status === "rejected" && keys === "reason,status" && typeof record.reason === "string")
      return { status: "rejected", reason: record.reason };
  }
  throw new TypeError("not a query outcome: {status: ok, result} or {status: rejected, reason}");
}

/** What the answering enclave signs (see the header). */
export function publicAnswerDigest(domain: LedgerDomain, appId: Hex, answer: PublicAnswer): Hex {
  const { at } = answer;
  return keccak256(
    encodeAbiParameters(
      parseAbiParameters(
        "bytes32, uint256, address, bytes32, bytes32, bytes32, bytes32, uint64, bytes32, uint64, bytes32",
      ),
      [
        PUBLIC_ANSWER_TAG,
        BigInt(domain.chainId),
        domain.contract,
        appId,
        keccak256(toBytes(answer.name)),
        keccak256(toBytes(answer.params)),
        keccak256(encodeOutcome(answer.outcome)),
        at.seq,
        at.head,
        at.block,
        at.digest ?? ZERO_HASH,
      ],
    ),
  );
}
