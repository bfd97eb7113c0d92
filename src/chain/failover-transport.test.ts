// A large eth_getLogs answer goes alone, never in a batch with small calls made in the same tick:
// viem refuses a response body over 10 MiB, and a shared body would fail every call in it. Played
// against a JSON-RPC server that answers one log page of ~11 MiB.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createPublicClient, defineChain } from "viem";
import { failover } from "./failover-transport.js";

/** Over viem's 10 MiB cap on a response body. */
const LARGE_LOG_BYTES = 11 * 1024 * 1024;

type RpcRequest = { id: number; method: string };

function answer(request: RpcRequest): unknown {
  if (request.method === "eth_getLogs")
    return { jsonrpc: "2.0", id: request.id, result: [{ data: `0x${"ab".repeat(LARGE_LOG_BYTES / 2)}` }] };
  return { jsonrpc: "2.0", id: request.id, result: "0x2a" };
}

describe("failover transport", () => {
  let server: Server;
  let url: string;
  const batches: string[][] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        const parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
        const requests = Array.isArray(parsed) ? parsed : [parsed];
        batches.push(requests.map((r) => r.method));
        const answers = requests.map(answer);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("a log page too large for viem fails alone; small calls of the same tick still answer", async () => {
    const chain = defineChain({
      id: 42,
      name: "test",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [url] } },
    });
    const client = createPublicClient({ chain, transport: failover([url], { batch: true }) });
    const [logs, head, again] = await Promise.allSettled([
      client.request({ method: "eth_getLogs", params: [{ fromBlock: "0x0", toBlock: "0x1" }] }),
      client.getBlockNumber({ cacheTime: 0 }),
      client.getBlockNumber({ cacheTime: 0 }),
    ]);
    assert.equal(head.status === "fulfilled" && head.value, 42n);
    assert.equal(again.status === "fulfilled" && again.value, 42n);
    assert.equal(logs.status, "rejected");
    assert.match(String((logs as PromiseRejectedResult).reason), /exceeded the size limit/);
    // The log page went alone (viem asked again after the size failure, alone each time).
    const withLogs = batches.filter((b) => b.includes("eth_getLogs"));
    assert.ok(withLogs.length > 0 && withLogs.every((b) => b.length === 1), JSON.stringify(batches));
  });
});
