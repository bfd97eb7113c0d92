// A client that trusts only its own network profile and the chain, against a node that lies about
// its network or its enclave (a proxy in front of a real node of a real devnet).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  createPublicClient,
  encodeErrorResult,
  getAddress,
  type Hex,
  http,
  type LocalAccount,
  parseAbi,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { Platform } from "../../src/attestation/verdict.js";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "../../src/client/enclave-policy.js";
import { type NetworkProfile, readNetworkProfile } from "../../src/client/network-profile.js";
import { publishDevPolicy, publishPolicy, signPolicy } from "../../src/operator/policy.js";
import { DEV_POLICY_KEYS, DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { anonify } from "../operators/operator-net.js";
import { anvilKey } from "../support/chain.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type LyingNode, startLyingNode } from "../support/proxy.js";
import { startRpcRecorder } from "../support/rpc-recorder.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

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

  test("a node's answers with terminal escapes and wrong types: the CLI prints nothing raw and refuses the wrong type by name", async () => {
    // OSC window title, a line erased, an OSC 8 hyperlink, and a C1 CSI (which JSON leaves as is).
    const escapes =
      "\u001b]0;pwned\u0007\u001b[2K\u001b]8;;http://evil.example\u0007link\u001b]8;;\u0007\u009b31m";
    proxy.lie({
      "/v1/status": (s) => ({
        ...s,
        version: escapes,
        lastHandshake: { slot: "1", enclave: tn.net.nodes[0]!.address, outcome: `applied${escapes}` },
      }),
    });
    const status = await anonify("status", "--node", proxy.url, "--network", tn.net.networkProfile);
    const group = await anonify("group", "status", "--node", proxy.url);
    for (const out of [status.stdout, status.stderr, group.stdout, group.stderr])
      for (const c of ["\u001b", "\u0007", "\u009b"])
        assert.ok(!out.includes(c), "no control character reaches the terminal");
    assert.match(group.stdout, /last handshake: slot 1 by 0x[0-9a-fA-F]{40}: applied\\u001b\]0;pwned/);
    // A wrong type is not shown as if it were right (members: [1] was read as a list of one member).
    proxy.lie({ "/v1/status": (s) => ({ ...s, members: [1] }) });
    await assert.rejects(anonify("group", "status", "--node", proxy.url), (error: { stderr?: string }) => {
      assert.match(
        String(error.stderr),
        /rejected \(malformed\): http:\/\/127\.0\.0\.1:\d+ answered \/v1\/status with answer\.members\[0\]/,
      );
      return true;
    });
  });

  test("an RPC that answers with an OffchainLookup revert: the client fetches no URL it names", async () => {
    // Where a CCIP-Read gateway would be fetched: it only counts.
    let fetched = 0;
    const gateway = createServer((_, res) => {
      fetched++;
      res.writeHead(200, { "content-type": "application/json" }).end('{"data":"0x"}');
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/{sender}/{data}.json`;
    const offchainLookup = parseAbi([
      "error OffchainLookup(address sender, string[] urls, bytes callData, bytes4 callbackFunction, bytes extraData)",
    ]);
    const rpc = await startRpcRecorder(profile.rpcUrl, (call) =>
      call.method === "eth_call"
        ? {
            code: 3,
            message: "execution reverted",
            data: encodeErrorResult({
              abi: offchainLookup,
              errorName: "OffchainLookup",
              args: [tn.net.contract, [url], "0x", "0x12345678", "0x"],
            }),
          }
        : undefined,
    );
    try {
      // The attack, against a viem client as it comes: it fetches the gateway the RPC named.
      const plain = createPublicClient({ transport: http(rpc.url) });
      await plain
        .readContract({
          address: tn.net.contract,
          abi: parseAbi(["function epoch() view returns (uint64)"]),
          functionName: "epoch",
        })
        .catch(() => undefined);
      assert.ok(fetched > 0, "a viem client with CCIP-Read on fetches the URL");
      fetched = 0;
      await assert.rejects(connect(newAccount(), undefined, { ...profile, rpcUrl: rpc.url }));
      assert.ok(
        rpc.calls.some((c) => c.method === "eth_call"),
        "the client did read the contract",
      );
      assert.equal(fetched, 0, "the client fetched no URL the RPC named");
    } finally {
      await rpc.close();
      gateway.closeAllConnections();
      await new Promise((resolve) => gateway.close(resolve));
    }
  });

  test("a measurement the profile trusts, or a document signed by k of its policy keys admits, is pinned; one signed by fewer is not", async () => {
    const { measurement } = await tn.net.nodes[0]!.node.enclaveStatus();
    // Pinned measurements only, the simulated platform allowed: production's rule, on the devnet's enclaves.
    const pinnedOnly: EnclavePolicy = { ...ENCLAVE_POLICIES.development, requireMeasurement: true };
    const withTrust = (trust: NetworkProfile["trust"]) =>
      AnonifyClient.connect({
        network: { ...profile, trust },
        node: tn.net.nodes[0]!.url,
        account: newAccount(),
        enclavePolicy: pinnedOnly,
      });
    const notPinned = refused("enclave_not_allowed");
    await assert.rejects(withTrust(undefined), notPinned);
    assert.ok(await withTrust({ measurements: [measurement as Hex] }));
    const domain = { chainId: tn.net.chainId, contract: tn.net.contract };
    const owner = withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(0));
    const admits = (version: bigint) => ({
      version,
      revocations: [],
      measurements: [{ platform: Platform.sim, measurement: (measurement as Hex).toLowerCase() as Hex }],
    });
    const keys = { threshold: DEV_POLICY_KEYS.threshold, signers: DEV_POLICY_KEYS.signers };
    // One signature where the profile's keys need two: it admits nothing.
    await publishPolicy(
      owner,
      tn.net.contract,
      await signPolicy(domain, admits(1n), DEV_POLICY_PRIVATE_KEYS.slice(0, 1)),
    );
    await assert.rejects(withTrust({ measurements: [], policyKeys: keys }), notPinned);
    await publishPolicy(
      owner,
      tn.net.contract,
      await signPolicy(domain, admits(2n), DEV_POLICY_PRIVATE_KEYS),
    );
    assert.ok(await withTrust({ measurements: [], policyKeys: keys }));
    // Keys the deployment does not pin sign nothing it admits.
    const strangers = { threshold: 1, signers: [randomAddress()] };
    await assert.rejects(withTrust({ measurements: [], policyKeys: strangers }), notPinned);
  });

  // Last: it removes node 1's enclave from the group.
  test("an enclave the group removed, still active on the contract, is refused as no member; so is a node's made-up member list", async () => {
    const removed = tn.net.nodes[1]!.address;
    const owner = withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(0));
    // A signed policy document revokes it: members remove it; the contract's record stays active.
    await publishDevPolicy(
      owner,
      { chainId: tn.net.chainId, contract: tn.net.contract },
      {
        version: 3n,
        revocations: [removed],
      },
    );
    const honestMembers = await until("the members removed it", async () => {
      const { members } = await tn.net.nodes[0]!.node.groupStatus().then((s) => s.group);
      return members.includes(removed.toLowerCase() as Hex) ? undefined : members;
    });
    const chain = createPublicClient({ transport: http(profile.rpcUrl) });
    assert.equal(
      await chain.readContract({
        address: tn.net.contract,
        abi: anonifyAbi,
        functionName: "isActive",
        args: [removed],
      }),
      true,
      "the contract still holds it as active",
    );
    const notMember = (e: unknown) =>
      refused("enclave_not_member")(e) && /is not shown to be a member of the group/.test(String(e));
    // A node names it as its enclave, with the true member list: not in the set the chain commits to.
    proxy.lie({ "/v1/enclave": (e) => ({ ...e, address: removed }) });
    await assert.rejects(connect(newAccount()), notMember);
    // Or with a list that names it too: not the list the chain commits to.
    proxy.lie({
      "/v1/enclave": (e) => ({ ...e, address: removed }),
      "/v1/status": (st) => ({ ...st, members: [...honestMembers, removed.toLowerCase()] }),
    });
    await assert.rejects(
      connect(newAccount()),
      (e: unknown) => notMember(e) && /lists members that are not the ones/.test(String(e)),
    );
    // A client whose profile names the deployment's policy keys refuses it for the signed revocation
    // itself, whatever member list a node shows (the revoked enclave could commit a list naming itself).
    const withKeys = { ...profile, trust: { measurements: [], policyKeys: { ...DEV_POLICY_KEYS } } };
    await assert.rejects(
      connect(newAccount(), undefined, withKeys),
      (e: unknown) => refused("enclave_not_allowed")(e) && /policy keys revoked it/.test(String(e)),
    );
    assert.deepEqual(sent(), [], "nothing was encrypted to it");
    // The honest node's own enclave is a member: the same client connects.
    proxy.lie({});
    assert.equal((await connect(newAccount())).enclave, tn.net.nodes[0]!.address);
  });
});
