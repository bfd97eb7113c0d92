// The contract's owner is the attacker: it trusts an attestation-service key of its own, allows a
// measurement, and registers an "enclave" whose keys it holds (SGX, no debug, evidence 0x01: the
// contract never parses evidence). A node colluding with it names that enclave to clients. Members
// never admit it (they judge evidence inside); clients judge it too now, from the evidence in its
// registration event: nothing is encrypted to it, and a receipt of a batch it submitted is refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, createPublicClient, type Hex, http, type LocalAccount } from "viem";
import { connectLedger, withWallet, writeAnonifyMined } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { ENCLAVE_POLICIES, type EnclavePolicy } from "../../src/client/enclave-policy.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { anvilKey, MEASUREMENT, newEnclave, signRaw } from "../support/chain.js";
import { registerFakeEnclave } from "../support/fake-enclave.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { type LyingNode, startLyingNode } from "../support/proxy.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

/** The devnet's contract owner: Anvil's first account. */
const OWNER_ACCOUNT = 0;
const FORGED_EVIDENCE: Hex = "0x01";

const refused = (code: string, reason?: RegExp) => (e: unknown) =>
  e instanceof AnonifyClientError && e.code === code && (!reason || reason.test(e.message))
    ? true
    : assert.fail(`expected ${code}${reason ? ` ${reason}` : ""}, got ${String(e)}`);

describe("an owner's fake enclave, named by a colluding node", () => {
  let tn: TestNet;
  let token: Token;
  let proxy: LyingNode;
  const fake = newEnclave();

  const connect = (account: LocalAccount, enclavePolicy: EnclavePolicy, node = proxy.url) =>
    AnonifyClient.connect({
      network: readNetworkProfile(tn.net.networkProfile),
      node,
      account,
      enclavePolicy,
    });

  before(async () => {
    tn = await startTestNet(3);
    token = await issueToken(tn);
    // The owner's own "attestation service" vouches for it, with an allowed measurement.
    await registerFakeEnclave(tn, fake, FORGED_EVIDENCE);
    proxy = await startLyingNode(tn.net.nodes[0]!.url, {
      "/v1/enclave": (e) => ({ ...e, address: fake.address }),
    });
  });
  after(async () => {
    await proxy?.close();
    await tn?.stop();
  });

  test("the contract holds it as an active SGX enclave, no debug, of an allowed measurement", async () => {
    const chain = createPublicClient({ transport: http(tn.net.rpcUrl) });
    const record = await chain.readContract({
      address: tn.net.contract,
      abi: anonifyAbi,
      functionName: "getEnclave",
      args: [fake.address],
    });
    assert.deepEqual(
      [record.state, record.platform, record.debug, record.measurement],
      [1, 1, false, MEASUREMENT],
    );
  });

  test("a production client that pins the measurement refuses it by name before sending anything", async () => {
    const pinned = { ...ENCLAVE_POLICIES.production, measurements: [MEASUREMENT] };
    await assert.rejects(
      connect(newAccount(), pinned),
      refused("enclave_not_allowed", /evidence does not verify/),
    );
    // Nor does the development policy take evidence that does not verify.
    await assert.rejects(
      connect(newAccount(), ENCLAVE_POLICIES.development),
      refused("enclave_not_allowed", /evidence does not verify/),
    );
    assert.deepEqual(
      proxy.requests.filter((r) => r.startsWith("POST")),
      [],
      "no command or query reached the node",
    );
  });

  test("a batch the fake enclave submits: its receipt and its state claim are refused; every node goes on, as one", async () => {
    const alice = await token.fundedAccount(5n);
    const honest = await connect(alice, ENCLAVE_POLICIES.development, tn.net.nodes[0]!.url);
    // An honest answer at the newest point, which the fake batch will then claim another state for.
    const before = await honest.queryAt("balanceOf", {});
    // The fake enclave's host submits garbage: the contract takes any active enclave's batch.
    const owner = withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(OWNER_ACCOUNT));
    const chain = createPublicClient({ transport: http(tn.net.rpcUrl) });
    const contract = { address: tn.net.contract, abi: anonifyAbi } as const;
    const ciphertext = bytesToHex(new Uint8Array(64).fill(7));
    const epoch = await chain.readContract({ ...contract, functionName: "epoch" });
    const baseSeq = await chain.readContract({ ...contract, functionName: "eventCount" });
    assert.equal(baseSeq, before.at.seq, "the answer stands at the chain's newest event");
    const stateDigest: Hex = `0x${"00".repeat(32)}`;
    const digest = await chain.readContract({
      ...contract,
      functionName: "batchDigest",
      args: [fake.address, epoch, bytesToHex(sha256(new Uint8Array(64).fill(7))), 1, baseSeq, stateDigest],
    });
    await writeAnonifyMined(owner, tn.net.contract, "submitBatch", [
      epoch,
      ciphertext,
      1,
      fake.address,
      baseSeq,
      stateDigest,
      await signRaw(fake.key, digest),
    ]);
    const [event] = await chain.getContractEvents({
      ...contract,
      eventName: "BatchSubmitted",
      args: { baseSeq },
    });
    assert.ok(event, "the garbage batch is on chain");
    // Its claim of another state at that point counts for nobody: the honest answer still checks.
    const checked = await honest.checkAnswer(before.at);
    assert.equal(checked.claims, 0, "the untrusted enclave's claim is not counted");
    // The receipt a colluding node makes up for it: it names that batch, exactly as the chain holds it.
    const forged = {
      command: `0x${"ab".repeat(32)}` as Hex,
      sequence: event.args.firstSequence!,
      status: "applied" as const,
      batch: {
        index: event.args.batch!,
        seq: event.args.seq!,
        head: event.args.head!,
        block: event.blockNumber,
      },
    };
    await assert.rejects(honest.checkReceipt(forged), refused("untrusted_batch", /evidence does not verify/));
    // Members skip the non-member's batch: every node applies what follows, and none diverged.
    const receipt = await honest.call("transfer", { to: newAccount().address, amount: 2 });
    assert.equal(receipt.status, "applied");
    for (const [index, node] of tn.net.nodes.entries()) {
      assert.equal(node.node.diverged, undefined, `node ${index} goes on`);
      const there = await connect(alice, ENCLAVE_POLICIES.development, node.url);
      assert.equal(
        await until(`node ${index} applied the transfer`, async () => {
          const { result } = await there.queryAt("balanceOf", {});
          return result === 3n ? result : undefined;
        }),
        3n,
      );
    }
  });
});
