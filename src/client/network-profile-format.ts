// A network profile's format, pure (no file system), so that the browser wallet reads the same
// profile the CLI reads: `network-profile.ts` adds the file I/O and re-exports this module.
import { type Address, getAddress, isAddress } from "viem";

/** The profile's format version: a reader refuses another. */
export const NETWORK_PROFILE_VERSION = 1;
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

/** The file's content: a chain target and the block the contract was deployed at. */
export type NetworkProfile = ChainTarget & { deployedAtBlock: bigint };

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
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key))
      throw new NetworkProfileError(source, key, `unknown field (the fields are ${FIELDS.join(", ")})`);
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
  };
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
    },
    null,
    2,
  )}\n`;
}
