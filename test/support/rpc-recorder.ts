// A recording JSON-RPC proxy: forwards every request to a chain node and keeps each call made
// through it (batched calls too), so a test can tell what the code behind it needs from an Ethereum
// node. It may also refuse chosen calls with a JSON-RPC error, as a provider with limits does.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export type RpcCall = { method: string; params: unknown };
/**
 * A JSON-RPC error to answer `call` with instead of forwarding it (`data`: a revert's encoded error);
 * undefined forwards it.
 */
export type RpcRefusal = (call: RpcCall) => { code: number; message: string; data?: string } | undefined;

export type RpcRecorder = {
  readonly url: string;
  /** Every call, in the order it arrived. */
  readonly calls: RpcCall[];
  close(): Promise<void>;
};

type RpcRequest = { id?: unknown; method?: unknown; params?: unknown };

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startRpcRecorder(target: string, refuse?: RpcRefusal): Promise<RpcRecorder> {
  const calls: RpcCall[] = [];
  const forward = async (request: RpcRequest): Promise<unknown> => {
    const call = { method: String(request.method), params: request.params };
    calls.push(call);
    const error = refuse?.(call);
    if (error) return { jsonrpc: "2.0", id: request.id ?? null, error };
    const answer = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    return answer.json();
  };
  const server = createServer(async (req, res) => {
    try {
      const parsed = JSON.parse((await bodyOf(req)).toString("utf8")) as RpcRequest | RpcRequest[];
      // A batch's calls one by one, answered together in their order.
      const answer = Array.isArray(parsed) ? await Promise.all(parsed.map(forward)) : await forward(parsed);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
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
