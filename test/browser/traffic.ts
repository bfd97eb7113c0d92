// The requests a page sends, recorded so that a test can check what a node was told.
import type { BrowserContext } from "playwright-core";

export type SentRequest = { url: string; method: string; body: string };

/** Records every request the context's pages send to one of `origins`. */
export function recordRequests(context: BrowserContext, origins: readonly string[]): SentRequest[] {
  const sent: SentRequest[] = [];
  const wanted = new Set(origins.map((o) => new URL(o).origin));
  context.on("request", (request) => {
    if (wanted.has(new URL(request.url()).origin))
      sent.push({ url: request.url(), method: request.method(), body: request.postData() ?? "" });
  });
  return sent;
}

/** The requests in which any of `needles` appears (case-insensitive), in the URL or the body. */
export function requestsHolding(sent: readonly SentRequest[], needles: readonly string[]): SentRequest[] {
  const lower = needles.map((n) => n.toLowerCase());
  return sent.filter((r) => lower.some((n) => `${r.url}\n${r.body}`.toLowerCase().includes(n)));
}
