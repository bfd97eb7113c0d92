import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, encodeFunctionResult, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "./anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "./enclave-policy.js";

const CHAIN = "http://chain.invalid/";
const NODE = "http://node.invalid/";
const CONTRACT = privateKeyToAccount(generatePrivateKey()).address;
const ENCLAVE = privateKeyToAccount(generatePrivateKey()).address;

type Registration = { state?: number; platform?: number; debug?: boolean };

/** A chain and a node that exist only in this fetch: a request the client makes elsewhere fails. */
function fakeNetwork(
  requests: string[],
  node: { chainId?: number; contract?: string } = {},
  registration: Registration = {},
): typeof globalThis.fetch {
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
                state: registration.state ?? 1,
                platform: registration.platform ?? 0,
                debug: registration.debug ?? true,
                registeredAt: 1n,
                batchNonce: 0n,
                recordNonce: 0n,
                measurement: `0x${"11".repeat(32)}`,
                hpkePublicKey: bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey())),
                app: `0x${"a1".repeat(32)}`,
                lastRotation: 0,
              },
            });
      return json({ jsonrpc: "2.0", id: rpc.id, result });
    }
    requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
    if (url.pathname === "/v1/status")
      return json({ chainId: node.chainId ?? 31337, contract: node.contract ?? CONTRACT.toLowerCase() });
    if (url.pathname === "/v1/enclave") return json({ address: ENCLAVE });
    return json({ code: "nonce_gap", message: "the nonce is ahead of the account's" }, 422);
  };
}

/** A client of a fresh account at the fake node, its profile naming chain 31337 (unless given). */
function connect(
  fetch: typeof globalThis.fetch,
  network: { chainId?: number } = {},
  enclavePolicy?: EnclavePolicy,
): Promise<AnonifyClient> {
  return AnonifyClient.connect({
    network: { rpcUrl: CHAIN, chainId: network.chainId ?? 31337, contract: CONTRACT },
    node: NODE,
    account: privateKeyToAccount(generatePrivateKey()),
    fetch,
    enclavePolicy,
  });
}

describe("AnonifyClient", () => {
  it("makes every request, to the chain and to the node, with the fetch it is given", async () => {
    const requests: string[] = [];
    const client = await connect(fakeNetwork(requests));
    assert.equal(client.enclave, ENCLAVE);
    assert.equal(client.domain.chainId, 31337);
    assert.equal(client.served.simulated, true);
    assert.equal(client.describeEnclave(), `enclave ${ENCLAVE} (simulated TEE)`);
    assert.match(client.warnings.join(), /simulated TEE platform: it protects nothing/);
    await assert.rejects(
      client.send("transfer", { to: ENCLAVE, amount: "1" }, 7n),
      (e: unknown) => e instanceof AnonifyClientError && e.code === "nonce_gap",
    );
    assert.deepEqual(requests, [
      "rpc eth_chainId",
      "GET /v1/status",
      "GET /v1/enclave",
      "rpc eth_call",
      "POST /v1/commands",
    ]);
  });

  const refused = (code: string) => (e: unknown) => e instanceof AnonifyClientError && e.code === code;

  it("refuses an RPC of another chain than the profile's, before asking the node anything", async () => {
    const requests: string[] = [];
    await assert.rejects(connect(fakeNetwork(requests), { chainId: 1 }), refused("wrong_chain"));
    assert.deepEqual(requests, ["rpc eth_chainId"]);
  });

  it("refuses a node that names another chain id or contract than the profile's", async () => {
    for (const node of [{ chainId: 1 }, { contract: ENCLAVE }]) {
      const requests: string[] = [];
      await assert.rejects(connect(fakeNetwork(requests, node)), refused("wrong_network"));
      assert.deepEqual(requests, ["rpc eth_chainId", "GET /v1/status"]);
    }
  });

  it("refuses an enclave the contract does not hold as active", async () => {
    for (const state of [0, 2, 3]) {
      await assert.rejects(connect(fakeNetwork([], {}, { state })), refused("enclave_not_active"));
    }
  });

  it("applies its own enclave policy to the enclave's record on chain", async () => {
    const sim = fakeNetwork([]);
    await assert.rejects(connect(sim, {}, ENCLAVE_POLICIES.production), refused("enclave_not_allowed"));
    await assert.rejects(connect(sim, {}, {}), refused("enclave_not_allowed"), "a strict default");
    const sgxDebug = fakeNetwork([], {}, { platform: 1, debug: true });
    await assert.rejects(connect(sgxDebug, {}, ENCLAVE_POLICIES.production), refused("enclave_not_allowed"));
    const debugOk = await connect(sgxDebug, {}, { allowDebug: true });
    assert.equal(debugOk.describeEnclave(), `enclave ${ENCLAVE} (Intel SGX (debug))`);
    const sgx = fakeNetwork([], {}, { platform: 1, debug: false });
    const production = await connect(sgx, {}, ENCLAVE_POLICIES.production);
    assert.deepEqual(production.warnings, []);
    assert.equal(production.served.platform, "sgx");
    await assert.rejects(
      connect(sgx, {}, { measurements: [`0x${"22".repeat(32)}`] }),
      refused("enclave_not_allowed"),
    );
    await connect(sgx, {}, { measurements: [`0x${"11".repeat(32)}`], platforms: ["sgx"] });
    // The app the contract records the enclave as running, if the client names the apps it uses.
    await connect(sgx, {}, { apps: [`0x${"a1".repeat(32)}`] });
    await assert.rejects(
      connect(sgx, {}, { apps: [`0x${"b2".repeat(32)}`] }),
      refused("enclave_not_allowed"),
    );
    await assert.rejects(connect(sgx, {}, { platforms: ["tdx", "nitro"] }), refused("enclave_not_allowed"));
    await assert.rejects(
      connect(
        fakeNetwork([], {}, { platform: 9, debug: false }),
        {},
        { allowDebug: true, allowSimulated: true },
      ),
      refused("enclave_not_allowed"),
    );
  });
});
