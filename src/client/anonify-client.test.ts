import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, encodeFunctionResult, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "./anonify-client.js";

const CHAIN = "http://chain.invalid/";
const NODE = "http://node.invalid/";
const CONTRACT = privateKeyToAccount(generatePrivateKey()).address;
const ENCLAVE = privateKeyToAccount(generatePrivateKey()).address;

/** A chain and a node that exist only in this fetch: a request the client makes elsewhere fails. */
function fakeNetwork(requests: string[]): typeof globalThis.fetch {
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.href === CHAIN) {
      const rpc = JSON.parse(String(init?.body)) as { id: number; method: string };
      requests.push(`rpc ${rpc.method}`);
      const result: Hex =
        rpc.method === "eth_chainId"
          ? "0x7a69"
          : encodeFunctionResult({
              abi: anonifyAbi,
              functionName: "getEnclave",
              result: {
                state: 1,
                platform: 0,
                debug: true,
                registeredAt: 1n,
                batchNonce: 0n,
                recordNonce: 0n,
                measurement: `0x${"11".repeat(32)}`,
                hpkePublicKey: bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey())),
              },
            });
      return json({ jsonrpc: "2.0", id: rpc.id, result });
    }
    requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
    if (url.pathname === "/v1/enclave") return json({ address: ENCLAVE });
    return json({ code: "nonce_gap", message: "the nonce is ahead of the account's" }, 422);
  };
}

describe("AnonifyClient", () => {
  it("makes every request, to the chain and to the node, with the fetch it is given", async () => {
    const requests: string[] = [];
    const client = await AnonifyClient.connect({
      rpcUrl: CHAIN,
      contract: CONTRACT,
      node: NODE,
      account: privateKeyToAccount(generatePrivateKey()),
      fetch: fakeNetwork(requests),
    });
    assert.equal(client.enclave, ENCLAVE);
    assert.equal(client.domain.chainId, 31337);
    await assert.rejects(
      client.send("transfer", { to: ENCLAVE, amount: "1" }, 7n),
      (e: unknown) => e instanceof AnonifyClientError && e.code === "nonce_gap",
    );
    assert.deepEqual(requests, ["rpc eth_chainId", "GET /v1/enclave", "rpc eth_call", "POST /v1/commands"]);
  });
});
