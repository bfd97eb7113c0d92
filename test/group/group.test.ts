import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { RunningService } from "../../src/attestation/service.js";
import type { HandshakeProposal } from "../../src/boundary/call-results.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { generateMemberKeys } from "../../src/group/mls.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { createLogger } from "../../src/host/log.js";
import { type EnclaveNode, type EnclaveNodeOptions, SEALED_STATE_FILE } from "../../src/host/node-host.js";
import { handshakeDigest, keyPackageDigest } from "../../src/protocol/digests.js";
import {
  type LedgerFixture,
  latestPoint,
  newEnclave,
  ownerCall,
  revertName,
  revokeWithDevPolicy,
  signedReport,
  signRaw,
  startLedgerFixture,
} from "../support/chain.js";
import { waitForGroup, waitForRotation } from "../support/group.js";
import { allowEnclaves, hostWallet, startService } from "../support/network.js";
import { TestNodes } from "../support/nodes.js";
import { until } from "../support/wait.js";

const SERVICE_KEY = generatePrivateKey();
const measurement = (
  JSON.parse(readFileSync(`${DEFAULT_ENCLAVE_BUNDLE}.json`, "utf8")) as { measurement: Hex }
).measurement;

describe("group key among enclaves, ordered on chain", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-group-"));
  let f: LedgerFixture;
  let service: RunningService;
  const started = new TestNodes();
  /** The members in the order they joined (a test takes the ones before it left). */
  const nodes: EnclaveNode[] = [];

  async function startNode(index: number): Promise<EnclaveNode> {
    const node = await started.start({
      hostDir: join(dir, `node-${index}`),
      wallet: hostWallet(f, index),
      contract: f.contract,
      deployedAtBlock: 0n,
      attestationUrl: service.url,
      // Quiet unless asked for (ANONIFY_TEST_LOGS=1): the e2e confidentiality test scans the logs.
      log: process.env.ANONIFY_TEST_LOGS
        ? createLogger({ format: "human" }).child({ node: `node-${index}` })
        : undefined,
    });
    nodes.push(node);
    return node;
  }

  before(async () => {
    f = await startLedgerFixture();
    service = await startService(undefined, SERVICE_KEY);
    await allowEnclaves(f, service, measurement);
  });
  after(async () => {
    await started.stopAll();
    await service.close();
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("three enclaves form a group through the chain and derive the same epoch key; a fourth joins", async () => {
    const [a, b, c] = [await startNode(1), await startNode(2), await startNode(3)];
    const three = await waitForGroup([a, b, c]);
    assert.ok(three.epochKeyFingerprint);
    assert.deepEqual(new Set(three.members), new Set([a, b, c].map((n) => n.address.toLowerCase())));
    const d = await startNode(4);
    const four = await waitForGroup([a, b, c, d]);
    assert.notEqual(
      four.epochKeyFingerprint,
      three.epochKeyFingerprint,
      "the epoch key changed with the add",
    );
  });

  test("a revoked member is removed and cannot follow the next epoch", async () => {
    const [a, b, c, d] = nodes as [EnclaveNode, EnclaveNode, EnclaveNode, EnclaveNode];
    const before = (await a.groupStatus()).group;
    await revokeWithDevPolicy(f, d.address, 1n);
    const after = await waitForGroup([a, b, c]);
    assert.notEqual(after.epochKeyFingerprint, before.epochKeyFingerprint);
    const removed = await until("the revoked enclave to notice", async () => {
      const s = (await d.groupStatus()).group;
      return s.removed ? s : undefined;
    });
    assert.equal(removed.member, false);
    assert.equal(removed.epochKeyFingerprint, undefined, "it holds no key of the new epoch");
    await started.stop(d);
    nodes.pop();
  });

  test("after a rotation, a copy of a member's state from before it cannot derive the new key", async () => {
    const [a, b, c] = nodes as [EnclaveNode, EnclaveNode, EnclaveNode];
    const before = await waitForGroup([a, b, c]);
    // Copy b's host directory (sealed state and its platform files) as an attacker would.
    const copyDir = join(dir, "copy-of-b");
    cpSync(join(dir, "node-2"), copyDir, { recursive: true });
    b.requestRotation();
    const after = await waitForRotation([a, b, c], before);
    assert.notEqual(after.epochKeyFingerprint, before.epochKeyFingerprint);
    assert.equal(after.lastHandshake?.enclave.toLowerCase(), b.address.toLowerCase());

    // The copy resumes from its old state and is fed the same events: it cannot follow b's commit.
    const copy = await started.start({ ...started.optionsOf(b), hostDir: copyDir, log: undefined });
    try {
      const stale = await until("the copy to catch up", async () => {
        const s = (await copy.groupStatus()).group;
        return s.slot === after.slot ? s : undefined;
      });
      assert.notEqual(stale.epochKeyFingerprint, after.epochKeyFingerprint);
      assert.notEqual(stale.epoch, after.epoch);
    } finally {
      await started.stop(copy);
    }
  });

  test("two members commit in the same epoch: exactly one wins, and all end with the same key", async () => {
    const [a, b, c] = nodes as [EnclaveNode, EnclaveNode, EnclaveNode];
    await waitForGroup([a, b, c]);
    type Proposal = Extract<HandshakeProposal, { handshake: Hex }>;
    const [pa, pc] = await Promise.all([
      a.enclave.call("proposeHandshake", { rotate: true }),
      c.enclave.call("proposeHandshake", { rotate: true }),
    ]);
    assert.ok(pa.handshake !== null && pc.handshake !== null, "both members propose a rotation");
    assert.equal(pa.epoch, pc.epoch);
    // Both are offered to the chain (the tests' wallets and the nodes' own hosts race to send them).
    const submit = (p: Proposal, wallet: ReturnType<typeof hostWallet>) =>
      wallet.walletClient
        .writeContract({
          address: f.contract,
          abi: anonifyAbi,
          functionName: "commitHandshake",
          args: [BigInt(p.epoch), p.handshake, p.rotation, BigInt(p.baseSeq), p.signature],
          gas: 3_000_000n,
        })
        .then((hash) => wallet.publicClient.waitForTransactionReceipt({ hash }));
    await Promise.all([submit(pa, hostWallet(f, 5)), submit(pc, hostWallet(f, 6))]);
    const end = await waitForGroup([a, b, c], {
      what: "the race to settle",
      where: (s) => BigInt(s.slot) > BigInt(pa.epoch),
    });
    const ordered = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "HandshakeCommitted",
      fromBlock: 0n,
    });
    const atSlot = ordered.filter((e) => e.args.epoch === BigInt(pa.epoch));
    assert.equal(atSlot.length, 1, "exactly one commit holds the slot");
    const winner = atSlot[0]!.args.handshake;
    assert.ok(winner === pa.handshake || winner === pc.handshake);
    const loser = winner === pa.handshake ? pc.handshake : pa.handshake;
    assert.equal(
      ordered.filter((e) => e.args.handshake === loser).length,
      0,
      "the losing commit is never ordered",
    );
    assert.notEqual(end.epochKeyFingerprint, undefined);
  });

  test("forged, unlisted, unregistered, replayed and stale handshakes are rejected, and the group goes on", async () => {
    const [a, b, c] = nodes as [EnclaveNode, EnclaveNode, EnclaveNode];
    const start = await waitForGroup([a, b, c]);
    const wallet = hostWallet(f, 7);
    const write = async (functionName: string, args: readonly unknown[]) => {
      const { request } = await wallet.publicClient.simulateContract({
        account: wallet.account,
        address: f.contract,
        abi: anonifyAbi,
        functionName,
        args,
      } as never);
      const hash = await wallet.walletClient.writeContract(request as never);
      await wallet.publicClient.waitForTransactionReceipt({ hash });
    };
    const slot = BigInt(start.slot);
    // An unregistered signer, a stale slot and a replay of the last handshake: the contract refuses.
    const stranger = newEnclave();
    const at = await latestPoint(f);
    assert.equal(
      await revertName(
        write("commitHandshake", [
          slot,
          "0x01",
          false,
          at.seq,
          await signRaw(stranger.key, handshakeDigest(f.domain, slot, "0x01", false, at)),
        ]),
      ),
      "NotRegistered",
    );
    // A rogue registered enclave (its key never entered an enclave) publishes a key package that
    // claims another enclave's identity, then posts garbage at the current slot.
    const rogue = newEnclave();
    const { report, signature, evidence } = await signedReport(f.domain, rogue, SERVICE_KEY, {
      measurement,
      platform: 0,
      debug: true,
    });
    await write("registerEnclave", [
      report,
      signature,
      rogue.address,
      rogue.hpkePublicKey,
      rogue.app,
      evidence,
    ]);
    const forged = bytesToHex((await generateMemberKeys(hexToBytes(a.address))).keyPackage);
    await write("publishKeyPackage", [
      0n,
      forged,
      await signRaw(rogue.key, keyPackageDigest(f.domain, 0n, forged)),
    ]);
    const garbage = "0x0102030405" as Hex;
    const here = await latestPoint(f);
    const garbageSig = await signRaw(rogue.key, handshakeDigest(f.domain, slot, garbage, false, here));
    await write("commitHandshake", [slot, garbage, false, here.seq, garbageSig]);
    assert.equal(
      await revertName(write("commitHandshake", [slot, garbage, false, here.seq, garbageSig])),
      "StaleEpoch",
    );
    const voided = await until("members to void the garbage", async () => {
      const s = (await a.groupStatus()).group;
      return BigInt(s.slot) > slot && s.lastHandshake?.outcome.startsWith("void") ? s : undefined;
    });
    assert.equal(voided.epoch, start.epoch, "the MLS epoch did not move");
    // A registered enclave whose measurement the owner then disallows publishes a real key package.
    const unlisted = newEnclave();
    const r2 = await signedReport(f.domain, unlisted, SERVICE_KEY, {
      measurement: `0x${"77".repeat(32)}`,
      platform: 0,
      debug: true,
    });
    await ownerCall(f, "setMeasurementAllowed", [`0x${"77".repeat(32)}`, true]);
    await write("registerEnclave", [
      r2.report,
      r2.signature,
      unlisted.address,
      unlisted.hpkePublicKey,
      unlisted.app,
      r2.evidence,
    ]);
    await ownerCall(f, "setMeasurementAllowed", [`0x${"77".repeat(32)}`, false]);
    const kp = bytesToHex((await generateMemberKeys(hexToBytes(unlisted.address))).keyPackage);
    await write("publishKeyPackage", [
      0n,
      kp,
      await signRaw(unlisted.key, keyPackageDigest(f.domain, 0n, kp)),
    ]);
    // The group goes on: a rotation lands, and neither the forged nor the unlisted member is ever added.
    a.requestRotation();
    const after = await waitForRotation([a, b, c], start);
    assert.equal(after.members.length, 3);
    assert.ok(!after.members.includes(unlisted.address.toLowerCase() as Hex));
    assert.ok(!after.members.includes(rogue.address.toLowerCase() as Hex));
  });

  test("a restarted member resumes in its epoch from its sealed state", async () => {
    const [a, b, c] = nodes as [EnclaveNode, EnclaveNode, EnclaveNode];
    const before = await waitForGroup([a, b, c]);
    const again = await started.restart(c);
    nodes[2] = again;
    const status = (await again.groupStatus()).group;
    assert.equal(status.epoch, before.epoch);
    assert.equal(status.epochKeyFingerprint, before.epochKeyFingerprint);
    assert.ok(readFileSync(join(dir, "node-3", SEALED_STATE_FILE), "utf8").startsWith("0x"));
    a.requestRotation();
    await waitForRotation([a, b, again], before);
  });
});

/** One node on its own chain and attestation service, started with `policy`, torn down after `body`. */
async function withLoneNode(
  policy: Pick<EnclaveNodeOptions, "rotateEveryMs" | "rotateEveryBatches">,
  body: (node: EnclaveNode, f: LedgerFixture) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "anonify-rotate-"));
  const f = await startLedgerFixture();
  const service = await startService();
  await allowEnclaves(f, service, measurement);
  const nodes = new TestNodes();
  try {
    const node = await nodes.start({
      hostDir: join(dir, "node"),
      wallet: hostWallet(f, 1),
      contract: f.contract,
      deployedAtBlock: 0n,
      attestationUrl: service.url,
      ...policy,
    });
    await body(node, f);
  } finally {
    await nodes.stopAll();
    await service.close();
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("rotation policy", () => {
  test("a node configured to rotate every T ms commits rotations on its own", () =>
    withLoneNode({ rotateEveryMs: 300 }, async (node) => {
      const epochs = new Set<string>();
      await until("three rotations", async () => {
        const s = (await node.groupStatus()).group;
        if (s.epoch) epochs.add(s.epoch);
        return epochs.size >= 3 ? true : undefined;
      });
    }));

  test("a node configured to rotate every N batches commits a rotation after its Nth batch", () =>
    withLoneNode({ rotateEveryBatches: 2 }, async (node, f) => {
      const api = buildNodeApi({
        node,
        contract: f.contract,
        chainId: f.domain.chainId,
        publicRpcUrl: f.anvil.rpcUrl,
      });
      try {
        const url = await api.listen({ port: 0, host: "127.0.0.1" });
        const member = await waitForGroup([node], { what: "the node to create its group" });
        const user = await AnonifyClient.connect({
          network: { rpcUrl: f.anvil.rpcUrl, chainId: f.domain.chainId, contract: f.contract },
          node: url,
          account: privateKeyToAccount(generatePrivateKey()),
        });
        await user.call("construct", { totalSupply: 10 });
        const second = await user.call("burn", { amount: 1 });
        assert.equal(second.status, "applied");
        const rotated = await until("the rotation after the second batch", async () => {
          const s = (await node.groupStatus()).group;
          return s.epoch !== member.epoch ? s : undefined;
        });
        assert.notEqual(rotated.epochKeyFingerprint, member.epochKeyFingerprint);
        assert.equal(await user.query("balanceOf", {}), 9n);
      } finally {
        await api.close();
      }
    }));
});
