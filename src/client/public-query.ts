// Checking a public query's answer (src/protocol/public-answer.ts): it came in clear, from any node,
// so nothing about it is taken on the node's word. The signature must be an enclave's that this
// client trusts (its evidence judged by the client's policy) and that registered with the app the
// client signs for; the point it reflects must be the chain's (`checkAnswer`).
import { type Address, getAddress, type Hex, hexToBytes, isAddressEqual, recoverAddress } from "viem";
import { address, decimal, hex, type Infer, object, optional } from "../app/schema.js";
import { type AppIdentity, appIdOf, type LedgerDomain } from "../protocol/digests.js";
import { decodeOutcome, publicAnswerDigest, publicParams } from "../protocol/public-answer.js";
import type { ChainChecks } from "./chain-checks.js";
import type { QueryResult } from "./client-options.js";
import type { TrustedEnclaves } from "./enclave-evidence.js";
import { AnonifyClientError } from "./errors.js";

/** The outcome's canonical bytes are at most a query answer's. */
const MAX_OUTCOME_BYTES = 64 * 1024;
const U64_BITS = 64;
const DIGEST_BYTES = 32;
/** r ‖ s ‖ v (src/protocol/signatures.ts, not imported: it loads libsecp256k1's WebAssembly). */
const SIGNATURE_BYTES = 65;

/** A node's answer to `POST /v1/public-queries`. */
export const NODE_PUBLIC_ANSWER = object(
  {
    outcome: hex({ max: MAX_OUTCOME_BYTES }),
    at: object({
      seq: decimal({ bits: U64_BITS }),
      head: hex({ min: DIGEST_BYTES, max: DIGEST_BYTES }),
      block: decimal({ bits: U64_BITS }),
      digest: optional(hex({ min: DIGEST_BYTES, max: DIGEST_BYTES })),
    }),
    signature: hex({ min: SIGNATURE_BYTES, max: SIGNATURE_BYTES }),
    enclave: address(),
  },
  { unknownFields: "drop" },
);
export type NodePublicAnswer = Infer<typeof NODE_PUBLIC_ANSWER>;

export type CheckPublicAnswerParameters = {
  domain: LedgerDomain;
  app: AppIdentity;
  onChain: ChainChecks;
  trusted: TrustedEnclaves;
  /** What the client asked. */
  name: string;
  params: Readonly<Record<string, unknown>>;
  answer: NodePublicAnswer;
};

/**
 * That `signature` over `digest` is `enclave`'s (else `forged.code`: "<what> is not signed by enclave
 * …"), an enclave this client trusts (`enclave_not_active`/`enclave_not_allowed`) registered with the
 * client's app (`wrong_app`). For everything an enclave signs in clear for anyone to read: public
 * answers, batches' public outputs (public-outputs.ts).
 */
export async function checkEnclaveSigned(
  p: { app: AppIdentity; trusted: TrustedEnclaves },
  digest: Hex,
  signature: Hex,
  enclave: Address,
  forged: { code: string; what: string },
): Promise<void> {
  // viem's recovery (noble), not the enclave's libsecp256k1 rule: the page carries no WebAssembly for
  // it, and a signature's other spelling would still be the enclave's over this very content.
  const signer = await recoverAddress({ hash: digest, signature }).catch(() => undefined);
  if (!signer || !isAddressEqual(signer, enclave))
    throw new AnonifyClientError(forged.code, `${forged.what} is not signed by enclave ${enclave}`);
  const { registration } = await p.trusted.judge(enclave);
  if (registration.app.toLowerCase() !== appIdOf(p.app).toLowerCase())
    throw new AnonifyClientError(
      "wrong_app",
      `enclave ${enclave} registered with another app than ${p.app.name}`,
    );
}

/**
 * The answer's result and the point it reflects, once checked: `forged_answer` if the signature is
 * not its named enclave's over what was asked, `wrong_app` if that enclave runs another app,
 * `enclave_not_active`/`enclave_not_allowed` if this client does not trust it, `answer_from_fork` or
 * `stale_answer` from the chain check; `query_rejected` with the app's reason.
 */
export async function checkPublicAnswer(p: CheckPublicAnswerParameters): Promise<QueryResult> {
  const { answer } = p;
  const enclave: Address = getAddress(answer.enclave);
  const at = {
    seq: BigInt(answer.at.seq),
    head: answer.at.head,
    block: BigInt(answer.at.block),
    ...(answer.at.digest ? { digest: answer.at.digest } : {}),
  };
  let outcome: ReturnType<typeof decodeOutcome>;
  try {
    outcome = decodeOutcome(hexToBytes(answer.outcome));
  } catch (error) {
    throw new AnonifyClientError(
      "forged_answer",
      `the public answer's outcome does not decode: ${(error as Error).message}`,
    );
  }
  const digest = publicAnswerDigest(p.domain, appIdOf(p.app), {
    name: p.name,
    params: publicParams(p.params),
    outcome,
    at,
  });
  await checkEnclaveSigned(p, digest, answer.signature, enclave, {
    code: "forged_answer",
    what: `the public answer over query ${p.name} as asked, its outcome and its point`,
  });
  const position = await p.onChain.checkAnswer(at);
  if (outcome.status !== "ok") throw new AnonifyClientError("query_rejected", outcome.reason);
  return { result: outcome.result, at: position };
}
