// A client of the attestation service, used by a node's host to turn a quote into a signed report.
import type { Hex } from "viem";
import type { RootOverrides } from "./root-overrides.js";

export type AttestationResponse = {
  report: Hex;
  signature: Hex;
  signer: Hex;
  verdict: Record<string, unknown>;
};

export class AttestationRefused extends Error {
  override name = "AttestationRefused";
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(`attestation service refused the evidence: ${reason}`);
  }
}

export async function requestReport(
  serviceUrl: string,
  body: { format: string; evidence: Hex; collateral?: unknown },
): Promise<AttestationResponse> {
  const res = await fetch(new URL("/v1/attest", serviceUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as AttestationResponse & { code?: string; message?: string };
  if (!res.ok)
    throw new AttestationRefused(json.code ?? `http_${res.status}`, json.message ?? res.statusText);
  return json;
}

/** The roots the service judges with, where they are not the vendors' (a test PKI's, in tests only). */
export async function serviceRoots(serviceUrl: string): Promise<RootOverrides> {
  const res = await fetch(new URL("/v1/service", serviceUrl));
  if (!res.ok) throw new AttestationRefused(`http_${res.status}`, res.statusText);
  return ((await res.json()) as { roots?: RootOverrides }).roots ?? {};
}
