// Who a client is, to the API's limits. A request's address is its socket's peer, or, when that peer
// is a proxy the operator trusts (`--trusted-proxy`), the right-most X-Forwarded-For address that is
// not itself a trusted proxy (fastify's `trustProxy` walks the header; this file says whom to trust).
// Limits then count per client: an IPv4 address, or an IPv6 /64.
import { BlockList, isIP } from "node:net";
import { normalizeIP } from "@fastify/rate-limit";

/**
 * The IPv6 prefix one client is counted under: a subscriber or a cloud machine is routinely given a
 * /64 at least, so a limit per IPv6 address would let one client rotate through 2^64 of them.
 */
export const IPV6_CLIENT_PREFIX = 64;

const BITS = { 4: 32, 6: 128 } as const;
const FAMILY = { 4: "ipv4", 6: "ipv6" } as const;

/**
 * The key a client's limits count under: an IPv4 address as itself (an IPv4-mapped `::ffff:a.b.c.d`
 * too, as a dual-stack socket reports IPv4 peers), an IPv6 address as its /64 (`2001:db8:1:2::`).
 * What is no address at all (a proxy's header gone wrong) is its own key, lower-cased.
 */
export function clientKey(address: string | undefined): string {
  // @fastify/rate-limit's own normalisation, so the rate and the connection cap count alike.
  return normalizeIP(address ?? "", IPV6_CLIENT_PREFIX);
}

/** Why `entry` is no trusted-proxy entry (an address, or a range as address/prefix), or undefined. */
function entryProblem(entry: string): string | undefined {
  const [address = "", prefix, ...more] = entry.split("/");
  const version = isIP(address) as 0 | 4 | 6;
  if (version === 0 || more.length > 0) return "must be an IP address or a CIDR range (10.0.0.0/8, fd00::/8)";
  if (prefix === undefined) return undefined;
  const bits = /^[0-9]{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  // A /0 would trust every peer: any client could then pick its own key by header.
  if (!(bits >= 1 && bits <= BITS[version])) return `needs a prefix from 1 to ${BITS[version]}`;
  return undefined;
}

/** Throws, naming the entry, unless each of `entries` is an IP address or a CIDR range. */
export function checkTrustedProxies(entries: readonly string[]): void {
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) throw new Error(`trusted proxy ${JSON.stringify(entry)} ${problem}`);
  }
}

/** Whether an address is one of the trusted proxies (an IPv4-mapped peer matches its IPv4 entry). */
export type TrustedProxy = (address: string) => boolean;

/** The check for `entries` (each an IP address or a CIDR range; anything else throws). */
export function trustedProxyCheck(entries: readonly string[]): TrustedProxy {
  checkTrustedProxies(entries);
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix] = entry.split("/");
    const version = isIP(address) as 4 | 6;
    if (prefix === undefined) list.addAddress(address, FAMILY[version]);
    else list.addSubnet(address, Number(prefix), FAMILY[version]);
  }
  return (address) => {
    const version = isIP(address);
    return version !== 0 && list.check(address, FAMILY[version as 4 | 6]);
  };
}
