// The page of test/browser/verifiers.test.ts, bundled by Vite as the web wallet is: the client's own
// evidence verifiers (src/client/verifiers.ts), called from the test through `globalThis.verifyEvidence`.
import type { PlatformName } from "../../src/attestation/verdict.js";
import { VerificationError } from "../../src/attestation/verdict.js";
import { verifierFor } from "../../src/client/verifiers.js";

/** What the page answers: the verdict, or why the evidence was refused (`name` tells a VerificationError). */
export type PageAnswer =
  | { verdict: { platform: string; measurement: string; tcbStatus: string; debug: boolean } }
  | { refused: { name: string; verificationError: boolean; reason: string } };

export type VerifyEvidence = (
  platform: PlatformName,
  evidenceBase64: string,
  collateral: unknown,
  now: string,
) => Promise<PageAnswer>;

const verifyEvidence: VerifyEvidence = async (platform, evidenceBase64, collateral, now) => {
  const evidence = Uint8Array.from(atob(evidenceBase64), (c) => c.charCodeAt(0));
  try {
    const verify = await verifierFor(platform);
    const verdict = await verify(evidence, { now: new Date(now), collateral });
    const { measurement, tcbStatus, debug } = verdict;
    return { verdict: { platform: verdict.platform, measurement, tcbStatus, debug } };
  } catch (error) {
    const e = error as Error;
    const verificationError = error instanceof VerificationError;
    return {
      refused: { name: e.name, verificationError, reason: verificationError ? error.reason : String(error) },
    };
  }
};

(globalThis as { verifyEvidence?: VerifyEvidence }).verifyEvidence = verifyEvidence;
