// How an RPC URL may be shown: scheme and host only. Providers put API keys in the path or the
// query, and error messages end up in logs and bug reports. Pure: the browser's client imports it.

/** `https://eth.example/v2/KEY` → `https://eth.example`. */
export function rpcOrigin(rpcUrl: string): string {
  try {
    const url = new URL(rpcUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return "the RPC (an invalid URL)";
  }
}
