// A client that trusts only its own network profile and the chain, against a node that lies about
// its network or its enclave (a proxy in front of a real node of a real devnet).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { getAddress, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "../../src/client/enclave-policy.js";
import { type NetworkProfile, readNetworkProfile } from "../../src/client/network-profile.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type LyingNode, startLyingNode } from "../support/proxy.js";
import { issueToken, newAccount, type Token } from "../support/token.js";

const refused = (code: string) => (e: unknown) => e instanceof AnonifyClientError && e.code === code;
const randomAddress = () => privateKeyToAccount(generatePrivateKey()).address;

describe("a client against a lying node", () => {
  let tn: TestNet;
  let token: Token;
  let profile: NetworkProfile;
  let proxy: LyingNode;

  const connect = (account: LocalAccount, enclavePolicy?: EnclavePolicy, network: NetworkProfile = profile) =>
    AnonifyClient.connect({ network, node: proxy.url, account, enclavePolicy });

  /** What reached the node that would carry a command or a query. */
  const sent = () => proxy.requests.filter((r) => r.startsWith("POST"));

  before(async () => {
    tn = await startTestNet(2);
    token = await issueToken(tn);
    // The profile the devnet wrote, as a user's client reads it.
    profile = readNetworkProfile(tn.net.networkProfile);
    proxy = await startLyingNode(tn.net.nodes[0]!.url);
  });
  after(async () => {
    await proxy?.close();
    await tn?.stop();
  });
  beforeEach(() => {
    proxy.lie({});
    proxy.requests.length = 0;
  });

  test("the devnet's profile names its chain and contract", () => {
    assert.deepEqual(profile, {
      chainId: tn.net.chainId,
      contract: getAddress(tn.net.contract),
      deployedAtBlock: tn.net.deployedAtBlock,
      rpcUrl: tn.net.rpcUrl,
    });
  });

  test("a node whose status names another contract is refused before anything is sent to it", async () => {
    proxy.lie({ "/v1/status": (s) => ({ ...s, contract: randomAddress() }) });
    await assert.rejects(connect(newAccount()), refused("wrong_network"));
    assert.deepEqual(proxy.requests, ["GET /v1/status"]);
  });

  test("a node whose status names another chain id is refused before anything is sent to it", async () => {
    proxy.lie({ "/v1/status": (s) => ({ ...s, chainId: 1 }) });
    await assert.rejects(connect(newAccount()), refused("wrong_network"));
    assert.deepEqual(proxy.requests, ["GET /v1/status"]);
  });

  test("an RPC of another chain than the profile's is refused", async () => {
    await assert.rejects(
      connect(newAccount(), undefined, { ...profile, chainId: 1 }),
      refused("wrong_chain"),
    );
    assert.deepEqual(proxy.requests, [], "the node is not even asked");
  });

  test("an enclave address the contract does not hold as active is refused", async () => {
    proxy.lie({ "/v1/enclave": (e) => ({ ...e, address: randomAddress() }) });
    await assert.rejects(connect(newAccount()), refused("enclave_not_active"));
    assert.deepEqual(sent(), []);
  });

  test("another registered enclave is taken only as the client's policy allows", async () => {
    const other = tn.net.nodes[1]!.address;
    proxy.lie({ "/v1/enclave": (e) => ({ ...e, address: other }) });
    const { measurement } = await tn.net.nodes[1]!.node.enclaveStatus();
    await assert.rejects(
      connect(newAccount(), { ...ENCLAVE_POLICIES.development, measurements: [`0x${"00".repeat(32)}`] }),
      refused("enclave_not_allowed"),
    );
    await assert.rejects(connect(newAccount(), ENCLAVE_POLICIES.production), refused("enclave_not_allowed"));
    assert.deepEqual(sent(), []);
    // Allowed: the key is the attested enclave's, read on chain, so the host still reads nothing;
    // its own enclave cannot open the command, which is refused (a loss of liveness only).
    const client = await connect(newAccount(), {
      ...ENCLAVE_POLICIES.development,
      measurements: [measurement as Hex],
    });
    assert.equal(client.enclave.toLowerCase(), other.toLowerCase());
    await assert.rejects(client.send("transfer", { to: randomAddress(), amount: 1 }, 0n), AnonifyClientError);
  });

  test("the same client works against the honest node; production refuses its simulated enclave", async () => {
    await assert.rejects(connect(newAccount(), ENCLAVE_POLICIES.production), refused("enclave_not_allowed"));
    const alice = await token.fundedAccount(5n);
    const client = await connect(alice);
    assert.equal(client.enclave, tn.net.nodes[0]!.address);
    assert.equal(client.served.platform, "sim");
    assert.match(
      client.describeEnclave(),
      /\(simulated TEE\): measurement 0x[0-9a-f]{64}, protects nothing$/,
    );
    assert.match(client.warnings.join("\n"), /simulated TEE platform/);
    const receipt = await client.call("transfer", { to: randomAddress(), amount: 2 });
    assert.equal(receipt.status, "applied");
    assert.equal(await client.query("balanceOf", {}), 3n);
    assert.ok(sent().includes("POST /v1/commands"));
  });
});
