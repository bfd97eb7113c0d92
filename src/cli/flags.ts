// Flags that take a number or a URL, refused with what to give instead.
import { OperatorError } from "../operator/operator-checks.js";
import { peerUrl } from "../protocol/peer-url.js";

export const MAX_PORT = 65_535;

export function parseCount(value: string, flag: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new OperatorError(
      "bad_flag",
      `${flag} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  return n;
}

export function parseUrl(value: string, flag: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {}
  throw new OperatorError("bad_flag", `${flag} must be an http(s) URL, not ${JSON.stringify(value)}`);
}

/**
 * A URL this node announces on chain for its peers, as it will be announced (src/protocol/peer-url.ts).
 * A refusal does not repeat the value: it may hold a password.
 */
export function parsePeerUrl(value: string, flag: string): string {
  const checked = peerUrl(value);
  if ("problem" in checked) throw new OperatorError("bad_flag", `${flag} ${checked.problem}`);
  return checked.url;
}
