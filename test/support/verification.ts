// Matchers for evidence refused by a verifier: a VerificationError whose reason names the check.
import { VerificationError } from "../../src/attestation/verdict.js";

/** For assert.rejects / assert.throws: a VerificationError whose reason matches `pattern`. */
export const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof VerificationError && pattern.test(error.reason);
