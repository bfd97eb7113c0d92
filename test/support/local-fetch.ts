// A `fetch` whose connections leave from a chosen local address, so tests on one machine act as
// different clients to a node that tells clients apart by address (Linux routes all of 127.0.0.0/8
// to loopback, so 127.0.0.2 can reach a server on 127.0.0.1).
import { Agent, request } from "node:http";

/** `fetch` for plain http with every connection bound to `localAddress` (kept alive and reused). */
export function fetchFrom(localAddress: string): typeof globalThis.fetch {
  const agent = new Agent({ keepAlive: true });
  return async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    const headers = Object.fromEntries(req.headers);
    if (body) headers["content-length"] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: req.method,
          headers,
          localAddress,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const answer = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const v of [value ?? []].flat()) answer.append(name, v);
            }
            const status = res.statusCode ?? 500;
            resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers: answer }));
          });
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  };
}
