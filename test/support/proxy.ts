// A node that lies: an HTTP proxy in front of a real node that forwards every request and may
// rewrite the JSON of chosen answers (its status, its enclave). It records what reached it, so a test
// can tell that a client sent nothing after it caught the lie.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** Rewrites the answer to `GET path` (the JSON body the real node gave); the status code is kept. */
export type Rewrites = Record<string, (body: Record<string, unknown>) => Record<string, unknown>>;

export type LyingNode = {
  readonly url: string;
  /** Each request that reached the proxy, as "METHOD /path" (query string left out). */
  readonly requests: string[];
  /** Replaces the rewrites (an empty object makes the proxy honest). */
  lie(rewrites: Rewrites): void;
  close(): Promise<void>;
};

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startLyingNode(target: string, rewrites: Rewrites = {}): Promise<LyingNode> {
  let lies = rewrites;
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", target);
      requests.push(`${req.method} ${url.pathname}`);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await bodyOf(req);
      const answer = await fetch(url, {
        method: req.method,
        headers: req.headers["content-type"] ? { "content-type": req.headers["content-type"] } : undefined,
        body,
      });
      let text = await answer.text();
      const rewrite = req.method === "GET" ? lies[url.pathname] : undefined;
      if (rewrite) text = JSON.stringify(rewrite(JSON.parse(text) as Record<string, unknown>));
      res.writeHead(answer.status, {
        "content-type": answer.headers.get("content-type") ?? "application/json",
      });
      res.end(text);
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "proxy", message: String(error) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    lie(next) {
      lies = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
