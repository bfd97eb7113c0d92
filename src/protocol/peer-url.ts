// The URL a node announces on chain for its peers (`announcePeer`): where it serves its public API
// and the state snapshots joiners fetch. Pure: the CLI checks an operator's `--public-url` with it,
// the enclave bounds what it signs by it, and a joiner's host drops what another host announced
// unless it passes the same rules.

/** The longest URL the contract takes (`MAX_PEER_URL_BYTES`): a scheme, a host and a port fit in far less. */
export const MAX_PEER_URL_BYTES = 256;

const ALLOWED_PROTOCOLS = new Set(["http:", "https:"]);

/**
 * The URL in the one spelling a node announces and compares (the WHATWG serialization, so
 * `http://a:80` and `HTTP://A` are one URL), or why it cannot be a peer's: only an http(s) root (a
 * joiner asks it for `/v1/snapshots/…` and clients for `/v1/…`), without credentials, query or
 * fragment (an announcement is public), within the contract's bound.
 */
export function peerUrl(value: string): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: "is not a URL" };
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return { problem: "must be an http(s) URL" };
  if (url.username || url.password) return { problem: "must not hold credentials (it is public on chain)" };
  if (url.search || url.hash) return { problem: "must not have a query or a fragment" };
  if (url.pathname !== "/") return { problem: "must name the API's root, without a path" };
  if (new TextEncoder().encode(url.href).length > MAX_PEER_URL_BYTES)
    return { problem: `must be at most ${MAX_PEER_URL_BYTES} bytes` };
  return { url: url.href };
}
