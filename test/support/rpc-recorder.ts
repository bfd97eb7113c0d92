// A recording JSON-RPC proxy: forwards every request to a chain node unchanged and keeps each call
// made through it (batched calls too), so a test can tell what the code behind it needs from an
// Ethereum node.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export type RpcCall = { method: string; params: unknown };

export type RpcRecorder = {
  readonly url: string;
  /** Every call, in the order it arrived. */
  readonly calls: RpcCall[];
  close(): Promise<void>;
};

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The calls of a JSON-RPC request or batch (an unparsable body holds none). */
function callsOf(body: Buffer): RpcCall[] {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    const requests = Array.isArray(parsed) ? parsed : [parsed];
    return requests.flatMap((r) =>
      typeof r === "object" && r && "method" in r && typeof r.method === "string"
        ? [{ method: r.method, params: "params" in r ? r.params : undefined }]
        : [],
    );
  } catch {
    return [];
  }
}

export async function startRpcRecorder(target: string): Promise<RpcRecorder> {
  const calls: RpcCall[] = [];
  const server = createServer(async (req, res) => {
    try {
      const body = await bodyOf(req);
      calls.push(...callsOf(body));
      const answer = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: String(error) } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
