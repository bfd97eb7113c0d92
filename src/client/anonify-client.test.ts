// The client against a chain and a node that exist only in its fetch: every request goes through the
// fetch it is given, and what it trusts is the evidence in the enclave's registration event, judged
// with the enclave's own verifiers, not the contract's record (which an owner may fill as it likes).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  type AbiEvent,
  bytesToHex,
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  encodeFunctionResult,
  type Hex,
  hexToBytes,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { SimPlatform } from "../enclave/sim-platform.js";
import { encodeHandshake } from "../group/handshake-frames.js";
import { type AppIdentity, appIdOf, enclaveBinding, memberSetDigest } from "../protocol/digests.js";
import { AnonifyClient, AnonifyClientError } from "./anonify-client.js";
import { defaultPolicyName, ENCLAVE_POLICIES, type EnclavePolicy } from "./enclave-policy.js";

const CHAIN = "http://chain.invalid/";
const NODE = "http://node.invalid/";
const CHAIN_ID = 31337;
const CONTRACT = privateKeyToAccount(generatePrivateKey()).address;
const ENCLAVE = privateKeyToAccount(generatePrivateKey()).address;
const HPKE_KEY = bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey()));
/** The app the network runs, as its node names it; its enclave registered with its id. */
const NETWORK_APP: AppIdentity = { name: "erc20", codeHash: `0x${"a1".repeat(32)}`, stateVersion: 1 };
const APP: Hex = appIdOf(NETWORK_APP);
const MEASUREMENT = new Uint8Array(32).fill(0x11);
const REGISTERED = anonifyAbi.find(
  (item): item is Extract<(typeof anonifyAbi)[number], { type: "event"; name: "EnclaveRegistered" }> =>
    item.type === "event" && item.name === "EnclaveRegistered",
)!;
const HANDSHAKE = anonifyAbi.find(
  (item): item is Extract<(typeof anonifyAbi)[number], { type: "event"; name: "HandshakeCommitted" }> =>
    item.type === "event" && item.name === "HandshakeCommitted",
)!;
/** The group's one handshake (slot 0): its committer the enclave, its member set the enclave alone. */
const HANDSHAKE_BYTES = bytesToHex(
  encodeHandshake({
    commit: new Uint8Array([1]),
    welcome: undefined,
    memberSet: hexToBytes(memberSetDigest([ENCLAVE])),
  }),
);

/** What the chain holds of the enclave: its state, the platform it registered as, its evidence. */
type Registration = { state?: number; platform?: number; evidence?: Hex };

describe("AnonifyClient", () => {
  let simQuote: Hex;

  before(async () => {
    // A real simulated quote, bound to this enclave's keys and app on this chain and contract.
    const platform = new SimPlatform(mkdtempSync(join(tmpdir(), "anonify-client-")));
    const reportData = new Uint8Array(64);
    reportData.set(
      hexToBytes(enclaveBinding({ chainId: CHAIN_ID, contract: CONTRACT }, ENCLAVE, HPKE_KEY, APP)),
    );
    simQuote = bytesToHex(
      await platform.quote(reportData, { measurement: MEASUREMENT, signerMeasurement: MEASUREMENT }),
    );
  });

  /** A chain and a node that exist only in this fetch: a request the client makes elsewhere fails. */
  function fakeNetwork(
    requests: string[],
    node: { chainId?: number; contract?: string; app?: AppIdentity } = {},
    registration: Registration = {},
  ): typeof globalThis.fetch {
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    const log = {
      address: CONTRACT.toLowerCase(),
      topics: encodeEventTopics({ abi: [REGISTERED as AbiEvent], args: { seq: 1n, enclave: ENCLAVE } }),
      data: encodeAbiParameters(
        REGISTERED.inputs.filter((i) => !i.indexed),
        [
          registration.platform ?? 0,
          `0x${"11".repeat(32)}`,
          false,
          HPKE_KEY,
          APP,
          "0x00",
          "0x00",
          registration.evidence ?? simQuote,
          1n,
          `0x${"00".repeat(32)}`,
        ],
      ),
      blockNumber: "0x1",
      blockHash: `0x${"00".repeat(32)}`,
      transactionHash: `0x${"00".repeat(32)}`,
      transactionIndex: "0x0",
      logIndex: "0x0",
      removed: false,
    };
    const handshakeLog = {
      ...log,
      topics: encodeEventTopics({
        abi: [HANDSHAKE as AbiEvent],
        args: { seq: 2n, epoch: 0n, enclave: ENCLAVE },
      }),
      data: encodeAbiParameters(
        HANDSHAKE.inputs.filter((i) => !i.indexed),
        [false, 1n, HANDSHAKE_BYTES, "0x00", 1n, `0x${"00".repeat(32)}`],
      ),
      logIndex: "0x1",
    };
    const handshakeTopic = handshakeLog.topics[0];
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.href === CHAIN) {
        const rpc = JSON.parse(String(init?.body)) as {
          id: number;
          method: string;
          params: [{ topics?: unknown[]; data?: Hex }];
        };
        requests.push(`rpc ${rpc.method}`);
        const result =
          rpc.method === "eth_chainId"
            ? "0x7a69"
            : rpc.method === "eth_blockNumber"
              ? "0x2"
              : rpc.method === "eth_getLogs"
                ? [rpc.params[0].topics?.[0] === handshakeTopic ? handshakeLog : log]
                : rpc.params[0].data === encodeFunctionData({ abi: anonifyAbi, functionName: "epoch" })
                  ? encodeFunctionResult({ abi: anonifyAbi, functionName: "epoch", result: 1n })
                  : encodeFunctionResult({
                      abi: anonifyAbi,
                      functionName: "isActive",
                      result: (registration.state ?? 1) === 1,
                    });
        return json({ jsonrpc: "2.0", id: rpc.id, result });
      }
      requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
      if (url.pathname === "/v1/status")
        return json({
          chainId: node.chainId ?? CHAIN_ID,
          contract: node.contract ?? CONTRACT.toLowerCase(),
          members: [ENCLAVE.toLowerCase()],
          app: node.app ?? NETWORK_APP,
        });
      if (url.pathname === "/v1/enclave") return json({ address: ENCLAVE });
      return json({ code: "nonce_gap", message: "the nonce is ahead of the account's" }, 422);
    };
  }

  /** A client of a fresh account at the fake node, its profile naming chain 31337 (unless given). */
  function connect(
    fetch: typeof globalThis.fetch,
    network: { chainId?: number } = {},
    enclavePolicy?: EnclavePolicy,
    app?: string,
  ): Promise<AnonifyClient> {
    return AnonifyClient.connect({
      network: { rpcUrl: CHAIN, chainId: network.chainId ?? CHAIN_ID, contract: CONTRACT },
      node: NODE,
      account: privateKeyToAccount(generatePrivateKey()),
      fetch,
      enclavePolicy,
      app,
    });
  }

  const refused = (code: string, reason?: RegExp) => (e: unknown) =>
    e instanceof AnonifyClientError && e.code === code && (!reason || reason.test(e.message));

  it("makes every request, to the chain and to the node, with the fetch it is given", async () => {
    const requests: string[] = [];
    const client = await connect(fakeNetwork(requests));
    assert.equal(client.enclave, ENCLAVE);
    assert.equal(client.domain.chainId, CHAIN_ID);
    assert.equal(client.served.simulated, true);
    assert.equal(client.served.measurement, bytesToHex(MEASUREMENT));
    assert.match(
      client.describeEnclave(),
      new RegExp(`^enclave ${ENCLAVE} \\(simulated TEE\\): measurement 0x(11){32}, protects nothing$`),
    );
    assert.match(client.warnings.join(), /simulated TEE platform: it protects nothing/);
    await assert.rejects(
      client.send("transfer", { to: ENCLAVE, amount: "1" }, 7n),
      (e: unknown) => e instanceof AnonifyClientError && e.code === "nonce_gap",
    );
    assert.deepEqual(requests, [
      "rpc eth_chainId",
      "GET /v1/status",
      "GET /v1/enclave",
      // Judged from its registration event, then found in the member set the chain's handshake names.
      "rpc eth_call",
      "rpc eth_blockNumber",
      "rpc eth_getLogs",
      "rpc eth_call",
      "rpc eth_blockNumber",
      "rpc eth_getLogs",
      "POST /v1/commands",
    ]);
  });

  it("learns the network's app from the node, checked against the app its enclave registered on chain", async () => {
    const client = await connect(fakeNetwork([]));
    assert.equal(client.app, "erc20", "asked for none: the network's");
    assert.deepEqual(client.appIdentity, NETWORK_APP);
    assert.equal((await connect(fakeNetwork([]), {}, undefined, "erc20")).app, "erc20");
    // Asked for another app: refused plainly, before anything is signed or sent.
    const requests: string[] = [];
    await assert.rejects(
      connect(fakeNetwork(requests), {}, undefined, "auction"),
      refused("wrong_app", /^this network runs erc20, not auction$/),
    );
    assert.deepEqual(
      requests.filter((r) => !r.startsWith("rpc ")),
      ["GET /v1/status", "GET /v1/enclave"],
    );
    // A node that names an app its enclave did not register with is refused, whatever it names.
    for (const lie of [
      { ...NETWORK_APP, name: "auction" },
      { ...NETWORK_APP, codeHash: `0x${"b2".repeat(32)}` as Hex },
      { ...NETWORK_APP, stateVersion: 2 },
    ])
      await assert.rejects(
        connect(fakeNetwork([], { app: lie }), {}, undefined, lie.name),
        refused("wrong_app", new RegExp(`says its enclave runs ${lie.name} .* registered app ${APP}`)),
      );
  });

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

  it("judges the evidence, not the record: an owner's 'SGX' enclave with evidence 0x01 is refused", async () => {
    const forged = fakeNetwork([], {}, { platform: 1, evidence: "0x01" });
    for (const policy of [
      ENCLAVE_POLICIES.development,
      { ...ENCLAVE_POLICIES.production, measurements: [`0x${"11".repeat(32)}` as Hex] },
    ])
      await assert.rejects(
        connect(forged, {}, policy),
        refused("enclave_not_allowed", /evidence does not verify/),
      );
    // Real simulated evidence passed off as SGX: the verdict's platform is not the registration's.
    const relabelled = fakeNetwork([], {}, { platform: 1 });
    await assert.rejects(
      connect(relabelled, {}, ENCLAVE_POLICIES.development),
      refused("enclave_not_allowed"),
    );
  });

  it("applies its own policy to the verdict: production refuses the simulated platform, pins measurements and apps", async () => {
    const sim = fakeNetwork([]);
    await assert.rejects(
      connect(sim, {}, ENCLAVE_POLICIES.production),
      refused("enclave_not_allowed", /simulated/),
    );
    await assert.rejects(
      connect(sim, {}, {}),
      refused("enclave_not_allowed"),
      "a strict policy refuses the simulated platform",
    );
    await assert.rejects(
      connect(sim, {}, { ...ENCLAVE_POLICIES.development, measurements: [`0x${"22".repeat(32)}`] }),
      refused("enclave_not_allowed", /measurement/),
    );
    await connect(sim, {}, { ...ENCLAVE_POLICIES.development, measurements: [`0x${"11".repeat(32)}`] });
    await connect(sim, {}, { ...ENCLAVE_POLICIES.development, apps: [APP] });
    await assert.rejects(
      connect(sim, {}, { ...ENCLAVE_POLICIES.development, apps: [`0x${"b2".repeat(32)}`] }),
      refused("enclave_not_allowed", /app/),
    );
    await assert.rejects(
      connect(sim, {}, { ...ENCLAVE_POLICIES.development, platforms: ["sgx"] }),
      refused("enclave_not_allowed", /platform/),
    );
  });

  it("defaults to production off a development chain, development on it", async () => {
    assert.equal(defaultPolicyName(1), "production");
    assert.equal(defaultPolicyName(31337), "development");
    const onMainnet = (enclavePolicy?: EnclavePolicy) => {
      const fetch = fakeNetwork([], { chainId: 1 });
      return AnonifyClient.connect({
        network: { rpcUrl: CHAIN, chainId: 1, contract: CONTRACT },
        node: NODE,
        account: privateKeyToAccount(generatePrivateKey()),
        enclavePolicy,
        fetch: async (input, init) => {
          const body = init?.body ? (JSON.parse(String(init.body)) as { method?: string; id?: number }) : {};
          if (body.method === "eth_chainId")
            return new Response(JSON.stringify({ jsonrpc: "2.0", id: body.id, result: "0x1" }));
          return fetch(input, init);
        },
      });
    };
    // Development takes the simulated platform and judges the evidence (bound to chain 31337, so
    // refused here for its binding); the default refuses the platform before any verification.
    await assert.rejects(
      onMainnet(ENCLAVE_POLICIES.development),
      refused("enclave_not_allowed", /does not bind/),
    );
    await assert.rejects(onMainnet(), refused("enclave_not_allowed", /simulated TEE platform/));
  });
});
