// Input checks at the ECALL boundary: every argument from the host is untrusted and is checked for
// type and size before any enclave code sees it.
import { EnclaveCallError } from "./frames.js";

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

export function invalid(message: string): EnclaveCallError {
  return new EnclaveCallError("invalid_argument", message);
}

export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`${what} must be an object`);
  return value as Record<string, unknown>;
}

/** Rejects fields the call does not know, so a typo or an injected field cannot pass silently. */
export function expectOnlyKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) throw invalid(`${what} has an unknown field ${key}`);
}

export function expectHex(
  value: unknown,
  what: string,
  limits: { min?: number; max: number },
): `0x${string}` {
  if (typeof value !== "string" || !HEX.test(value)) throw invalid(`${what} must be 0x-prefixed hex bytes`);
  const bytes = (value.length - 2) / 2;
  if (bytes < (limits.min ?? 0) || bytes > limits.max) {
    throw invalid(`${what} must be ${limits.min ?? 0} to ${limits.max} bytes, got ${bytes}`);
  }
  return value as `0x${string}`;
}

export function expectOptionalHex(
  value: unknown,
  what: string,
  limits: { min?: number; max: number },
): `0x${string}` | undefined {
  return value === undefined ? undefined : expectHex(value, what, limits);
}

export function expectInteger(value: unknown, what: string, limits: { min: number; max: number }): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < limits.min || value > limits.max) {
    throw invalid(`${what} must be an integer from ${limits.min} to ${limits.max}`);
  }
  return value;
}

/** A bigint carried as a decimal string (JSON has no bigint). */
export function expectUint(value: unknown, what: string, maxBits = 64): bigint {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(value)) {
    throw invalid(`${what} must be a decimal integer string`);
  }
  const n = BigInt(value);
  if (n >= 1n << BigInt(maxBits)) throw invalid(`${what} must fit in ${maxBits} bits`);
  return n;
}

export function expectAddress(value: unknown, what: string): `0x${string}` {
  return expectHex(value, what, { min: 20, max: 20 });
}
