// A network profile's format, pure (no file system), so that the browser wallet reads the same
// profile the CLI reads: `network-profile.ts` adds the file I/O and re-exports this module.
import { type Address, getAddress, type Hex, isAddress } from "viem";

/** The profile's format version: a reader refuses another. */
export const NETWORK_PROFILE_VERSION = 1;
/** Where `anonify wallet serve` serves the user's own profile to the page (web/src/profile.ts reads it). */
export const PINNED_PROFILE_PATH = "/network.json";
/** Where the CLI looks for a profile when none is named (relative to the current directory). */
export const DEFAULT_NETWORK_PROFILE = ".anonify/network.json";

/** What a client needs to know of the chain: its RPC, its id and the Anonify contract on it. */
export type ChainTarget = {
  /** Any Ethereum JSON-RPC node of the chain (the client checks that its chain id is `chainId`). */
  rpcUrl: string;
  chainId: number;
  contract: Address;
  /** The block the contract was deployed at: log reads start there (block 0 when not known). */
  deployedAtBlock?: bigint;
};

/**
 * Which enclaves the profile's users trust, beyond what their policy says: the deployment's enclave
 * builds (their measurements, as `anonify enclave build` prints them), and the deployment's policy
 * keys, so that a measurement a document signed by `threshold` of `signers` admits is trusted too
 * (the same documents members act on).
 */
export type ProfileTrust = {
  measurements: Hex[];
  policyKeys?: { threshold: number; signers: Address[] };
};

/** The file's content: a chain target, the block the contract was deployed at, what its users trust. */
export type NetworkProfile = ChainTarget & { deployedAtBlock: bigint; trust?: ProfileTrust };

export class NetworkProfileError extends Error {
  override name = "NetworkProfileError";
  readonly code = "bad_network_profile";
  constructor(
    /** The file (or "flags") the profile came from. */
    readonly source: string,
    /** The bad field, when one is to blame. */
    readonly field: string | undefined,
    message: string,
  ) {
    super(`${source}: ${field ? `${field}: ` : ""}${message}`);
  }
}

const FIELDS = ["version", "chainId", "contract", "deployedAtBlock", "rpcUrl"] as const;
const OPTIONAL_FIELDS = ["trust"] as const;
const TRUST_FIELDS = ["measurements", "policyKeys"];
const POLICY_KEY_FIELDS = ["threshold", "signers"];
/** More would be a mistake, not a deployment: the policy documents carry at most 32 signatures. */
const MAX_TRUSTED = 32;
const MEASUREMENT_HEX = /^0x([0-9a-fA-F]{64}|[0-9a-fA-F]{96})$/;

export function parseChainId(value: unknown, source: string, field = "chainId"): number {
  const n = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0)
    throw new NetworkProfileError(source, field, `must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

export function parseContract(value: unknown, source: string, field = "contract"): Address {
  // Mixed case must be a valid EIP-55 checksum (a typo in one letter is caught); one case is taken as is.
  if (typeof value !== "string" || !isAddress(value, { strict: true }))
    throw new NetworkProfileError(
      source,
      field,
      `must be a 0x-prefixed 20-byte address, not ${JSON.stringify(value)}`,
    );
  return getAddress(value);
}

export function parseRpcUrl(value: unknown, source: string, field = "rpcUrl"): string {
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol))
    throw new NetworkProfileError(source, field, `must be an http(s) URL, not ${JSON.stringify(value)}`);
  return String(value);
}

function parseBlock(value: unknown, source: string): bigint {
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new NetworkProfileError(
    source,
    "deployedAtBlock",
    `must be a block number (a decimal string or a non-negative integer), not ${JSON.stringify(value)}`,
  );
}

/** Checks a parsed profile field by field; `source` names it in errors. Unknown fields are refused. */
export function parseNetworkProfile(json: unknown, source: string): NetworkProfile {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new NetworkProfileError(source, undefined, "must be a JSON object");
  const o = json as Record<string, unknown>;
  const known = [...FIELDS, ...OPTIONAL_FIELDS];
  for (const key of Object.keys(o)) {
    if (!(known as readonly string[]).includes(key))
      throw new NetworkProfileError(source, key, `unknown field (the fields are ${known.join(", ")})`);
  }
  for (const key of FIELDS) {
    if (!(key in o)) throw new NetworkProfileError(source, key, "missing");
  }
  if (o.version !== NETWORK_PROFILE_VERSION)
    throw new NetworkProfileError(
      source,
      "version",
      `must be ${NETWORK_PROFILE_VERSION}, not ${JSON.stringify(o.version)}`,
    );
  return {
    chainId: parseChainId(o.chainId, source),
    contract: parseContract(o.contract, source),
    deployedAtBlock: parseBlock(o.deployedAtBlock, source),
    rpcUrl: parseRpcUrl(o.rpcUrl, source),
    ...(o.trust === undefined ? {} : { trust: parseTrust(o.trust, source) }),
  };
}

function fieldsOf(
  value: unknown,
  source: string,
  field: string,
  fields: readonly string[],
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new NetworkProfileError(source, field, "must be a JSON object");
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!fields.includes(key))
      throw new NetworkProfileError(
        source,
        `${field}.${key}`,
        `unknown field (the fields are ${fields.join(", ")})`,
      );
  return o;
}

function listOf<T>(value: unknown, source: string, field: string, item: (v: unknown, at: string) => T): T[] {
  if (!Array.isArray(value) || value.length > MAX_TRUSTED)
    throw new NetworkProfileError(source, field, `must be a list of at most ${MAX_TRUSTED}`);
  return value.map((v, i) => item(v, `${field}[${i}]`));
}

function parseTrust(value: unknown, source: string): ProfileTrust {
  const o = fieldsOf(value, source, "trust", TRUST_FIELDS);
  const measurements = listOf(o.measurements ?? [], source, "trust.measurements", (v, at) => {
    if (typeof v !== "string" || !MEASUREMENT_HEX.test(v))
      throw new NetworkProfileError(
        source,
        at,
        `must be a 32- or 48-byte measurement in 0x hex, not ${JSON.stringify(v)}`,
      );
    return v.toLowerCase() as Hex;
  });
  if (o.policyKeys === undefined) return { measurements };
  const keys = fieldsOf(o.policyKeys, source, "trust.policyKeys", POLICY_KEY_FIELDS);
  const signers = listOf(keys.signers, source, "trust.policyKeys.signers", (v, at) =>
    parseContract(v, source, at),
  );
  const threshold = keys.threshold;
  if (
    typeof threshold !== "number" ||
    !Number.isInteger(threshold) ||
    threshold < 1 ||
    threshold > signers.length
  )
    throw new NetworkProfileError(
      source,
      "trust.policyKeys.threshold",
      `must be an integer from 1 to the number of signers (${signers.length}), not ${JSON.stringify(threshold)}`,
    );
  return { measurements, policyKeys: { threshold, signers } };
}

/** The file's text for `profile` (what `readNetworkProfile` reads back). */
export function networkProfileJson(profile: NetworkProfile): string {
  return `${JSON.stringify(
    {
      version: NETWORK_PROFILE_VERSION,
      chainId: profile.chainId,
      contract: profile.contract,
      deployedAtBlock: profile.deployedAtBlock.toString(),
      rpcUrl: profile.rpcUrl,
      ...(profile.trust ? { trust: profile.trust } : {}),
    },
    null,
    2,
  )}\n`;
}
