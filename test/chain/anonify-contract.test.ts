import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  MAX_EVIDENCE_BYTES,
  MAX_HPKE_KEY_BYTES,
  MAX_PAYLOAD_BYTES,
} from "../../src/boundary/chain-events.js";
import {
  type AnonifyWrite,
  type AnonifyWriteArgs,
  deployAnonify,
  type LedgerWallet,
  withWallet,
  writeAnonifyMined,
} from "../../src/chain/chain.js";
import type { AnonifyEvent } from "../../src/chain/follower.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { toLedgerEvent } from "../../src/host/chain-io/event-feed.js";
import { publishPolicy, signPolicy } from "../../src/operator/policy.js";
import { MAX_COLLATERAL_BYTES } from "../../src/protocol/collateral-record.js";
import {
  batchDigest,
  type ChainPosition,
  handshakeDigest,
  keyPackageDigest,
  type LedgerDomain,
  leaveDigest,
  snapshotDigest,
  ZERO_HASH,
} from "../../src/protocol/digests.js";
import { GENESIS_POSITION, positionAfter, SEQUENCED_KINDS } from "../../src/protocol/event-chain.js";
import {
  MAX_POLICY_BYTES,
  MAX_POLICY_SIGNATURES,
  POLICY_SIGNATURE_BYTES,
} from "../../src/protocol/policy-document.js";
import {
  type LedgerFixture,
  MEASUREMENT,
  newEnclave,
  ownerCall,
  registrationArgs,
  revertName,
  STAND_IN_EVIDENCE,
  signedReport,
  signRaw,
  startLedgerFixture,
  type TestEnclave,
} from "../support/chain.js";
import { hostWallet } from "../support/network.js";

const SERVICE_KEY = generatePrivateKey();
const SERVICE = privateKeyToAccount(SERVICE_KEY).address;

describe("Anonify contract on a real Anvil", () => {
  let f: LedgerFixture;

  async function write<const F extends AnonifyWrite>(
    functionName: F,
    args: AnonifyWriteArgs<F>,
    address = f.contract,
  ): Promise<void> {
    const receipt = await writeAnonifyMined(f.owner, address, functionName, args);
    assert.equal(receipt.status, "success");
  }

  async function read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    return (await f.owner.publicClient.readContract({
      address: f.contract,
      abi: anonifyAbi,
      functionName,
      args,
    } as never)) as T;
  }

  async function register(enclave: TestEnclave, domain: LedgerDomain = f.domain): Promise<void> {
    await write("registerEnclave", await registrationArgs(domain, enclave, SERVICE_KEY));
  }

  /** The contract's newest point of its event sequence: what an enclave that read it all signs at. */
  async function latest(): Promise<ChainPosition> {
    const seq = await read<bigint>("eventCount");
    return { seq, head: await read<Hex>("headAt", [seq]) };
  }

  const STATE_DIGEST = `0x${"d1".repeat(32)}` as Hex;

  async function handshake(
    enclave: TestEnclave,
    epoch: bigint,
    payload: Hex,
    base?: ChainPosition,
    rotation = false,
  ) {
    const at = base ?? (await latest());
    const signature = await signRaw(enclave.key, handshakeDigest(f.domain, epoch, payload, rotation, at));
    return write("commitHandshake", [epoch, payload, rotation, at.seq, signature]);
  }

  async function batch(
    enclave: TestEnclave,
    epoch: bigint,
    ciphertext: Hex,
    count: number,
    nonce?: bigint,
    base?: ChainPosition,
  ) {
    const n = nonce ?? (await read<{ batchNonce: bigint }>("getEnclave", [enclave.address])).batchNonce;
    const at = base ?? (await latest());
    const signature = await signRaw(
      enclave.key,
      batchDigest(f.domain, { epoch, nonce: n, ciphertext, count }, at, STATE_DIGEST),
    );
    return write("submitBatch", [epoch, ciphertext, count, enclave.address, at.seq, STATE_DIGEST, signature]);
  }

  /** The enclave's record nonce, read as a host reads it. */
  async function recordNonce(enclave: TestEnclave): Promise<bigint> {
    const record = await f.owner.publicClient.readContract({
      address: f.contract,
      abi: anonifyAbi,
      functionName: "getEnclave",
      args: [enclave.address],
    });
    return record.recordNonce;
  }

  const publishKeyPackage = async (enclave: TestEnclave, nonce: bigint, keyPackage: Hex) =>
    write("publishKeyPackage", [
      nonce,
      keyPackage,
      await signRaw(enclave.key, keyPackageDigest(f.domain, nonce, keyPackage)),
    ]);

  const leave = async (enclave: TestEnclave, nonce: bigint) =>
    write("leave", [nonce, await signRaw(enclave.key, leaveDigest(f.domain, nonce))]);

  before(async () => {
    f = await startLedgerFixture();
    await ownerCall(f, "setTrustedSigner", [SERVICE, true]);
    await ownerCall(f, "setMeasurementAllowed", [MEASUREMENT, true]);
  });
  after(async () => f.stop());

  test("owner policy is owner-only", async () => {
    const stranger = newEnclave();
    await f.owner.walletClient.sendTransaction({
      to: privateKeyToAccount(stranger.key).address,
      value: 10n ** 18n,
    });
    const error = await revertName(
      f.owner.publicClient.simulateContract({
        account: privateKeyToAccount(stranger.key),
        address: f.contract,
        abi: anonifyAbi,
        functionName: "setDebugAllowed",
        args: [true],
      }),
    );
    assert.equal(error, "NotOwner");
    assert.equal(await read("debugAllowed"), false);
  });

  test("ownership moves in two steps: only the named account takes it, and the offer can be withdrawn", async () => {
    const funded = async () => {
      const wallet = withWallet(f.owner, generatePrivateKey());
      await f.owner.walletClient.sendTransaction({ to: wallet.account.address, value: 10n ** 18n });
      return wallet;
    };
    const [next, stranger] = [await funded(), await funded()];
    const accept = (by: LedgerWallet) => writeAnonifyMined(by, f.contract, "acceptOwnership", []);
    await write("transferOwnership", [next.account.address]);
    assert.equal(await read("owner"), f.owner.account.address, "the offer alone moves nothing");
    assert.equal(await revertName(accept(stranger)), "NotPendingOwner");
    await write("transferOwnership", ["0x0000000000000000000000000000000000000000"]);
    assert.equal(await revertName(accept(next)), "NotPendingOwner", "a withdrawn offer cannot be taken");
    await write("transferOwnership", [next.account.address]);
    assert.equal((await accept(next)).status, "success");
    try {
      assert.equal(await read("owner"), next.account.address);
      assert.equal(await read("pendingOwner"), "0x0000000000000000000000000000000000000000");
      const moved = await f.owner.publicClient.getContractEvents({
        address: f.contract,
        abi: anonifyAbi,
        eventName: "OwnershipTransferred",
        args: { newOwner: next.account.address },
        fromBlock: 0n,
      });
      assert.equal(moved.length, 1);
      assert.equal(
        await revertName(write("setDebugAllowed", [true])),
        "NotOwner",
        "the old owner has no power left",
      );
    } finally {
      await writeAnonifyMined(next, f.contract, "transferOwnership", [f.owner.account.address]);
      await accept(f.owner);
    }
    assert.equal(await read("owner"), f.owner.account.address);
  });

  test("registerEnclave accepts a report from a trusted signer and records the enclave", async () => {
    const enclave = newEnclave();
    await register(enclave);
    const record = await read<{
      state: number;
      measurement: Hex;
      hpkePublicKey: Hex;
      debug: boolean;
      app: Hex;
    }>("getEnclave", [enclave.address]);
    assert.equal(record.state, 1);
    assert.equal(record.measurement, MEASUREMENT);
    assert.equal(record.hpkePublicKey, enclave.hpkePublicKey);
    assert.equal(record.app, enclave.app, "the app its quote binds is on record");
    assert.equal(await read("isActive", [enclave.address]), true);
    const events = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "EnclaveRegistered",
      fromBlock: 0n,
    });
    const registered = events.find((e) => e.args.enclave === enclave.address);
    assert.equal(registered?.args.evidence, STAND_IN_EVIDENCE, "the evidence travels in the event");
    assert.equal(registered?.args.app, enclave.app);
    assert.equal(await revertName(register(enclave)), "AlreadyRegistered");
    const other = newEnclave();
    const { report, signature } = await signedReport(f.domain, other, SERVICE_KEY);
    assert.equal(
      await revertName(
        write("registerEnclave", [report, signature, other.address, other.hpkePublicKey, other.app, "0x"]),
      ),
      "EmptyPayload",
      "registration without evidence is refused",
    );
  });

  test("registerEnclave rejects each broken report with its named error", async () => {
    const e = newEnclave();
    const cases: {
      name: string;
      make: () => Promise<{ report: Hex; signature: Hex; evidence: Hex }>;
      error: string;
    }[] = [
      {
        name: "untrusted signer",
        make: () => signedReport(f.domain, e, generatePrivateKey()),
        error: "UntrustedReportSigner",
      },
      {
        name: "unlisted measurement",
        make: () => signedReport(f.domain, e, SERVICE_KEY, { measurement: `0x${"33".repeat(32)}` }),
        error: "MeasurementNotAllowed",
      },
      {
        name: "debug under no-debug",
        make: () => signedReport(f.domain, e, SERVICE_KEY, { debug: true }),
        error: "DebugNotAllowed",
      },
      {
        name: "simulated under no-debug",
        make: () => signedReport(f.domain, e, SERVICE_KEY, { platform: 0 }),
        error: "DebugNotAllowed",
      },
      {
        name: "stale report",
        make: () =>
          signedReport(f.domain, e, SERVICE_KEY, {
            issuedAt: BigInt(Math.floor(Date.now() / 1000) - 8 * 86400),
          }),
        error: "ReportTooOld",
      },
      {
        name: "binding to another contract",
        make: () => signedReport({ ...f.domain, contract: SERVICE }, e, SERVICE_KEY),
        error: "BindingMismatch",
      },
      {
        name: "binding to another chain",
        make: () => signedReport({ ...f.domain, chainId: 1 }, e, SERVICE_KEY),
        error: "BindingMismatch",
      },
      {
        name: "binding to another HPKE key",
        make: () => signedReport(f.domain, { ...e, hpkePublicKey: toHex(new Uint8Array(32)) }, SERVICE_KEY),
        error: "BindingMismatch",
      },
      {
        // A quote of an enclave running another app cannot register as running this one.
        name: "binding to another app",
        make: () => signedReport(f.domain, { ...e, app: keccak256("0x0a") }, SERVICE_KEY),
        error: "BindingMismatch",
      },
    ];
    for (const c of cases) {
      const { report, signature, evidence } = await c.make();
      const error = await revertName(
        write("registerEnclave", [report, signature, e.address, e.hpkePublicKey, e.app, evidence]),
      );
      assert.equal(error, c.error, c.name);
    }
    const good = await signedReport(f.domain, e, SERVICE_KEY);
    const truncated = good.report.slice(0, -2) as Hex;
    assert.equal(
      await revertName(
        write("registerEnclave", [
          truncated,
          good.signature,
          e.address,
          e.hpkePublicKey,
          e.app,
          good.evidence,
        ]),
      ),
      "MalformedReport",
    );
    assert.equal(await read("isActive", [e.address]), false, "nothing was recorded");
  });

  test("the debug policy admits debug and simulated reports once the owner allows them", async () => {
    await ownerCall(f, "setDebugAllowed", [true]);
    try {
      const e = newEnclave();
      const { report, signature, evidence } = await signedReport(f.domain, e, SERVICE_KEY, {
        platform: 0,
        debug: true,
      });
      await write("registerEnclave", [report, signature, e.address, e.hpkePublicKey, e.app, evidence]);
      assert.equal((await read<{ debug: boolean }>("getEnclave", [e.address])).debug, true);
    } finally {
      await ownerCall(f, "setDebugAllowed", [false]);
    }
  });

  test("commitHandshake is a compare-and-swap on the epoch", async () => {
    const a = newEnclave();
    const b = newEnclave();
    await register(a);
    await register(b);
    const epoch = await read<bigint>("epoch");
    // Both sign a commit for the same epoch; exactly one lands.
    const at = await latest();
    const sigB = await signRaw(b.key, handshakeDigest(f.domain, epoch, "0xbb", false, at));
    await handshake(a, epoch, "0xaa");
    assert.equal(await read("epoch"), epoch + 1n);
    assert.equal(
      await revertName(write("commitHandshake", [epoch, "0xbb", false, at.seq, sigB])),
      "StaleEpoch",
    );
    // Replaying the winning handshake is stale too.
    assert.equal(await revertName(handshake(a, epoch, "0xaa")), "StaleEpoch");
    assert.equal(await revertName(handshake(a, epoch + 5n, "0xaa")), "StaleEpoch");
    assert.equal(await read("epoch"), epoch + 1n);
  });

  test("only registered, active enclaves sign handshakes, batches and key packages", async () => {
    const stranger = newEnclave();
    const epoch = await read<bigint>("epoch");
    assert.equal(await revertName(handshake(stranger, epoch, "0x01")), "NotRegistered");
    assert.equal(await revertName(batch(stranger, epoch, "0x01", 1, 0n)), "NotRegistered");
    const kpSig = await signRaw(stranger.key, keyPackageDigest(f.domain, 0n, "0x0102"));
    assert.equal(await revertName(write("publishKeyPackage", [0n, "0x0102", kpSig])), "NotRegistered");

    const revoked = newEnclave();
    await register(revoked);
    await ownerCall(f, "revokeEnclave", [revoked.address]);
    assert.equal(await revertName(handshake(revoked, epoch, "0x01")), "EnclaveNotActive");
    assert.equal(await revertName(batch(revoked, epoch, "0x01", 1)), "EnclaveNotActive");
    assert.equal(await read("epoch"), epoch);

    const leaver = newEnclave();
    await register(leaver);
    const leaveSig = await signRaw(leaver.key, leaveDigest(f.domain, 0n));
    await write("leave", [0n, leaveSig]);
    assert.equal((await read<{ state: number }>("getEnclave", [leaver.address])).state, 3);
    const left = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "EnclaveLeft",
      args: { enclave: leaver.address },
      fromBlock: 0n,
    });
    assert.deepEqual(
      left.map((ev) => [ev.args.nonce, ev.args.signature]),
      [[0n, leaveSig]],
      "the leave carries its nonce and signature (a proof members can check)",
    );
    assert.equal(await revertName(handshake(leaver, epoch, "0x01")), "EnclaveNotActive");
  });

  test("a key package signature is single-use: a replay, or an old key package after a newer one, is StaleKeyPackage", async () => {
    const e = newEnclave();
    await register(e);
    assert.equal(await recordNonce(e), 0n);
    const [older, newer] = ["0x0a01", "0x0b02"] as const;
    const olderSig = await signRaw(e.key, keyPackageDigest(f.domain, 0n, older));
    await write("publishKeyPackage", [0n, older, olderSig]);
    assert.equal(await recordNonce(e), 1n);
    // The host sends the same signed key package again.
    assert.equal(await revertName(write("publishKeyPackage", [0n, older, olderSig])), "StaleKeyPackage");
    // The enclave moves to a newer key package; the older one, signed for its nonce then, stays out.
    await publishKeyPackage(e, 1n, newer);
    assert.equal(await revertName(write("publishKeyPackage", [0n, older, olderSig])), "StaleKeyPackage");
    // A nonce ahead of the enclave's is refused too (a host that names a wrong one loses its gas only).
    assert.equal(await revertName(publishKeyPackage(e, 5n, older)), "StaleKeyPackage");
    // The signature names its nonce: claiming another one recovers some other signer.
    assert.equal(await revertName(write("publishKeyPackage", [2n, older, olderSig])), "NotRegistered");
    assert.equal(await recordNonce(e), 2n);
    const published = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "KeyPackagePublished",
      args: { enclave: e.address },
      fromBlock: 0n,
    });
    assert.deepEqual(
      published.map((ev) => ev.args.keyPackage),
      [older, newer],
      "the newer key package stays the enclave's latest",
    );
    assert.deepEqual(
      published.map((ev) => [ev.args.nonce, ev.args.signature]),
      [
        [0n, olderSig],
        [1n, await signRaw(e.key, keyPackageDigest(f.domain, 1n, newer))],
      ],
      "each key package carries the nonce and signature a member verifies it with",
    );
  });

  test("a leave signed for another record nonce is StaleLeave; the enclave stays active until its own", async () => {
    const e = newEnclave();
    await register(e);
    const oldLeave = await signRaw(e.key, leaveDigest(f.domain, 0n));
    await publishKeyPackage(e, 0n, "0x0c03");
    // Signed before the enclave's key package: void after it.
    assert.equal(await revertName(write("leave", [0n, oldLeave])), "StaleLeave");
    assert.equal(await revertName(leave(e, 7n)), "StaleLeave");
    assert.equal(await read("isActive", [e.address]), true);
    await leave(e, 1n);
    assert.equal(await read("isActive", [e.address]), false);
    assert.equal(await revertName(leave(e, 2n)), "EnclaveNotActive", "leaving is final");
  });

  test("a snapshot commitment is single-use: a replay is StaleSnapshot", async () => {
    const e = newEnclave();
    await register(e);
    const [epoch, at, hash] = [await read<bigint>("epoch"), await latest(), keccak256("0x5a")];
    const sig = await signRaw(e.key, snapshotDigest(f.domain, 0n, epoch, at, STATE_DIGEST, hash));
    await write("commitSnapshot", [0n, epoch, at.seq, STATE_DIGEST, hash, sig]);
    assert.equal(
      await revertName(write("commitSnapshot", [0n, epoch, at.seq, STATE_DIGEST, hash, sig])),
      "StaleSnapshot",
    );
    // The counter is the enclave's one record nonce: a key package after it signs for 1.
    assert.equal(await recordNonce(e), 1n);
    await publishKeyPackage(e, 1n, "0x0d04");
  });

  test("submitBatch assigns sequence numbers; signatures are single-use", async () => {
    const e = newEnclave();
    await register(e);
    const epoch = await read<bigint>("epoch");
    const before = {
      batches: await read<bigint>("batchCount"),
      commands: await read<bigint>("commandCount"),
      events: await read<bigint>("eventCount"),
    };
    const ciphertext = toHex(crypto.getRandomValues(new Uint8Array(96)));
    await batch(e, epoch, ciphertext, 3);
    assert.equal(await read("batchCount"), before.batches + 1n);
    assert.equal(await read("commandCount"), before.commands + 3n);
    assert.equal(await read("eventCount"), before.events + 1n);
    const [event] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { batch: before.batches },
      fromBlock: 0n,
    });
    assert.equal(event?.args.ciphertext, ciphertext);
    assert.equal(event?.args.firstSequence, before.commands);
    assert.equal(event?.args.seq, before.events + 1n);

    // The same signature again: the nonce moved on, so it no longer verifies.
    assert.equal(await revertName(batch(e, epoch, ciphertext, 3, 0n)), "InvalidSignature");
    // A batch for a past epoch is stale.
    await handshake(e, epoch, "0x99");
    assert.equal(await revertName(batch(e, epoch, ciphertext, 3)), "StaleEpoch");
    // A signature over other contents does not verify.
    const n = (await read<{ batchNonce: bigint }>("getEnclave", [e.address])).batchNonce;
    const at = await latest();
    const sig = await signRaw(
      e.key,
      batchDigest(f.domain, { epoch: epoch + 1n, nonce: n, ciphertext: "0x01", count: 1 }, at, STATE_DIGEST),
    );
    assert.equal(
      await revertName(write("submitBatch", [epoch + 1n, "0x02", 1, e.address, at.seq, STATE_DIGEST, sig])),
      "InvalidSignature",
    );
    assert.equal(
      await revertName(write("submitBatch", [epoch + 1n, "0x", 0, e.address, at.seq, STATE_DIGEST, sig])),
      "EmptyBatch",
    );
  });

  test("key rotations are limited per enclave to one per rotationInterval; membership changes are not", async () => {
    const [a, b] = [newEnclave(), newEnclave()];
    await register(a);
    await register(b);
    assert.equal(await read("DEFAULT_ROTATION_INTERVAL"), 60, "what a deployment starts with");
    await ownerCall(f, "setRotationInterval", [3600]);
    try {
      const rotate = async (e: TestEnclave) =>
        handshake(e, await read<bigint>("epoch"), "0x0c", undefined, true);
      const change = async (e: TestEnclave) => handshake(e, await read<bigint>("epoch"), "0x0d");
      await rotate(a);
      assert.equal(await revertName(rotate(a)), "RotationTooSoon", "A's second rotation within the hour");
      await change(a); // an add or a removal is what the group exists for
      await rotate(b); // another enclave's own allowance
      // The flag is signed: a host cannot turn A's rotation into a membership change.
      const epoch = await read<bigint>("epoch");
      const at = await latest();
      const signed = await signRaw(a.key, handshakeDigest(f.domain, epoch, "0x0e", true, at));
      assert.equal(
        await revertName(write("commitHandshake", [epoch, "0x0e", false, at.seq, signed])),
        "NotRegistered",
        "recovered to nobody",
      );
      await ownerCall(f, "setRotationInterval", [0]);
      await rotate(a);
    } finally {
      await ownerCall(f, "setRotationInterval", [0]);
    }
  });

  test("a signed output names a point of the sequence the contract holds, by its head there", async () => {
    const e = newEnclave();
    await register(e);
    const epoch = await read<bigint>("epoch");
    const at = await latest();
    // An enclave whose host fed it a history of its own making signs another head there: refused.
    const forked = { seq: at.seq, head: keccak256("0xf0") };
    assert.equal(await revertName(batch(e, epoch, "0x0a", 1, undefined, forked)), "InvalidSignature");
    // (a handshake's signer is recovered: it recovers to nobody registered)
    assert.equal(await revertName(handshake(e, epoch, "0x0b", forked)), "NotRegistered");
    // A point the contract has not reached, or has forgotten, is refused by name.
    const ahead = { seq: at.seq + 1n, head: at.head };
    assert.equal(await revertName(batch(e, epoch, "0x0a", 1, undefined, ahead)), "PositionOutOfWindow");
    // An older point within the window, by its head there, is taken.
    const earlier = { seq: at.seq - 1n, head: await read<Hex>("headAt", [at.seq - 1n]) };
    await batch(e, epoch, "0x0a", 1, undefined, earlier);
    const [event] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      args: { baseSeq: earlier.seq },
      fromBlock: 0n,
      strict: true,
    });
    assert.equal(
      event?.args.stateDigest,
      STATE_DIGEST,
      "the batch carries its state digest for every member",
    );
  });

  test("batches signed for consecutive nonces can be in flight together and land in one block, in order", async () => {
    const e = newEnclave();
    await register(e);
    const epoch = await read<bigint>("epoch");
    const first = await read<bigint>("batchCount");
    const rpc = f.owner.publicClient.request as unknown as (r: {
      method: string;
      params: unknown[];
    }) => Promise<unknown>;
    const at = await latest();
    const send = async (nonce: bigint, ciphertext: Hex) =>
      f.owner.walletClient.writeContract({
        account: f.owner.account,
        address: f.contract,
        abi: anonifyAbi,
        functionName: "submitBatch",
        args: [
          epoch,
          ciphertext,
          1,
          e.address,
          at.seq,
          STATE_DIGEST,
          await signRaw(
            e.key,
            batchDigest(f.domain, { epoch, nonce, ciphertext, count: 1 }, at, STATE_DIGEST),
          ),
        ],
        gas: 200_000n, // cannot be estimated: the second is valid only after the first
      });
    await rpc({ method: "evm_setAutomine", params: [false] });
    let hashes: Hex[];
    try {
      hashes = [await send(0n, "0x0a"), await send(1n, "0x0b"), await send(3n, "0x0c")];
      await rpc({ method: "evm_mine", params: [] });
    } finally {
      await rpc({ method: "evm_setAutomine", params: [true] });
    }
    const receipts = await Promise.all(
      hashes.map((hash) => f.owner.publicClient.waitForTransactionReceipt({ hash })),
    );
    assert.deepEqual(
      receipts.map((r) => r.status),
      ["success", "success", "reverted"], // a nonce gap does not verify
    );
    assert.equal(receipts[0]!.blockNumber, receipts[1]!.blockNumber);
    const events = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "BatchSubmitted",
      fromBlock: receipts[0]!.blockNumber,
    });
    assert.deepEqual(
      events.map((ev) => [ev.args.batch, ev.args.ciphertext]),
      [
        [first, "0x0a"],
        [first + 1n, "0x0b"],
      ],
    );
  });

  test("a signature made for one contract does not replay on another", async () => {
    const other = await deployAnonify(f.owner);
    const e = newEnclave();
    await register(e);
    // Register the same enclave on the other contract too, with its own binding.
    const otherDomain = { ...f.domain, contract: other };
    await write("setTrustedSigner", [SERVICE, true], other);
    await write("setMeasurementAllowed", [MEASUREMENT, true], other);
    const { report, signature, evidence } = await signedReport(otherDomain, e, SERVICE_KEY);
    await write("registerEnclave", [report, signature, e.address, e.hpkePublicKey, e.app, evidence], other);
    // The report for this contract does not register on the other: the binding names the contract.
    const ours = await signedReport(f.domain, newEnclave(), SERVICE_KEY);
    const stranger = newEnclave();
    assert.equal(
      await revertName(
        write(
          "registerEnclave",
          [
            ours.report,
            ours.signature,
            stranger.address,
            stranger.hpkePublicKey,
            stranger.app,
            ours.evidence,
          ],
          other,
        ),
      ),
      "BindingMismatch",
    );

    const epoch = await read<bigint>("epoch");
    // Signed at the genesis point, which the other contract holds too: only the domain differs.
    const hsSig = await signRaw(e.key, handshakeDigest(f.domain, epoch, "0xabcd", false, GENESIS_POSITION));
    const error = await revertName(write("commitHandshake", [0n, "0xabcd", false, 0n, hsSig], other));
    assert.equal(error, "NotRegistered", "the recovered signer is nobody on the other contract");
    const ciphertext = "0x0102030405" as Hex;
    const batchSig = await signRaw(
      e.key,
      batchDigest(f.domain, { epoch, nonce: 0n, ciphertext, count: 1 }, GENESIS_POSITION, STATE_DIGEST),
    );
    assert.equal(
      await revertName(
        write("submitBatch", [0n, ciphertext, 1, e.address, 0n, STATE_DIGEST, batchSig], other),
      ),
      "InvalidSignature",
    );
  });

  test("publishPolicy is open to anyone and only emits the document and signatures (enclaves verify them)", async () => {
    const stranger = hostWallet(f, 7);
    const signed = await signPolicy(f.domain, { version: 3n, revocations: [newEnclave().address] }, [
      generatePrivateKey(), // not a policy key: the contract does not care, the enclaves will
    ]);
    const receipt = await publishPolicy(stranger, f.contract, signed);
    assert.equal(receipt.status, "success");
    const events = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "PolicyPublished",
      fromBlock: receipt.blockNumber,
      toBlock: receipt.blockNumber,
    });
    assert.deepEqual(
      events.map((e) => [e.args.document, e.args.signatures]),
      [[signed.document, signed.signatures]],
    );
    assert.equal(
      await revertName(publishPolicy(stranger, f.contract, { document: "0x", signatures: [] })),
      "EmptyPayload",
    );
  });

  test("the contract sequences no payload larger than an enclave takes (one would halt every enclave)", async () => {
    const limits: [string, number][] = [
      ["MAX_PAYLOAD_BYTES", MAX_PAYLOAD_BYTES],
      ["MAX_EVIDENCE_BYTES", MAX_EVIDENCE_BYTES],
      ["MAX_HPKE_KEY_BYTES", MAX_HPKE_KEY_BYTES],
      ["MAX_POLICY_BYTES", MAX_POLICY_BYTES],
      ["MAX_POLICY_SIGNATURES", MAX_POLICY_SIGNATURES],
      ["MAX_POLICY_SIGNATURE_BYTES", POLICY_SIGNATURE_BYTES],
      ["MAX_COLLATERAL_BYTES", MAX_COLLATERAL_BYTES],
    ];
    for (const [name, enclaveTakes] of limits) assert.equal(await read(name), BigInt(enclaveTakes), name);
    const bytes = (n: number) => toHex(new Uint8Array(n).fill(1));
    const publisher = hostWallet(f, 9);
    const tooLarge = (call: Promise<unknown>) =>
      revertName(call).then((name) => assert.equal(name, "PayloadTooLarge"));
    await tooLarge(
      publishPolicy(publisher, f.contract, { document: bytes(MAX_POLICY_BYTES + 1), signatures: [] }),
    );
    await tooLarge(
      publishPolicy(publisher, f.contract, {
        document: "0x01",
        signatures: [bytes(POLICY_SIGNATURE_BYTES + 1)],
      }),
    );
    await tooLarge(
      publishPolicy(publisher, f.contract, {
        document: "0x01",
        signatures: Array.from({ length: MAX_POLICY_SIGNATURES + 1 }, () => "0x01"),
      }),
    );
    await tooLarge(write("publishCollateral", [bytes(MAX_COLLATERAL_BYTES + 1)]));
  });

  // Runs last: the tests above emitted every kind of event the sequence holds.
  test("every event an enclave acts on takes the next place in one sequence, chained as event-chain.ts computes", async () => {
    await write("publishCollateral", ["0x01"]);
    const logs = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      fromBlock: 0n,
      strict: true,
    });
    const events = logs.flatMap((log) => toLedgerEvent(log as AnonifyEvent) ?? []);
    assert.deepEqual(new Set(events.map((e) => e.kind)), new Set(SEQUENCED_KINDS), "every kind was emitted");
    // The owner's events are not in the sequence.
    assert.ok(logs.some((l) => l.eventName === "MeasurementAllowed"));
    let at = GENESIS_POSITION;
    for (const event of events) {
      at = positionAfter(at, event, BigInt(event.timestamp));
      assert.equal(event.seq, at.seq.toString(), `${event.kind} takes the next position`);
      assert.equal(event.head, at.head, `${event.kind}'s head is the chain's over its fields`);
    }
    assert.equal(await read("eventCount"), at.seq);
    assert.equal(await read("eventHead"), at.head);
    assert.equal(await read("headAt", [at.seq]), at.head);
    assert.equal(await read("headAt", [0n]), ZERO_HASH);
    assert.equal(await revertName(read("headAt", [at.seq + 1n])), "PositionOutOfWindow");

    // Past HEAD_WINDOW more events, the ring keeps the newest heads only.
    const window = await read<bigint>("HEAD_WINDOW");
    const publisher = hostWallet(f, 8);
    // One after another, each in nonce order: sent together, a transaction a node's pool held back
    // (or dropped) left the rest waiting for ever (seen once in CI: a receipt that never came).
    let hash: Hex | undefined;
    for (let i = 0n; i <= window; i++)
      hash = await publisher.walletClient.writeContract({
        address: f.contract,
        abi: anonifyAbi,
        functionName: "publishCollateral",
        args: ["0x02"],
        gas: 200_000n,
      });
    await f.owner.publicClient.waitForTransactionReceipt({ hash: hash! });
    const count = await read<bigint>("eventCount");
    assert.equal(count, at.seq + window + 1n);
    assert.equal(await revertName(read("headAt", [at.seq])), "PositionOutOfWindow");
    assert.equal(await revertName(read("headAt", [0n])), "PositionOutOfWindow");
    const [last] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "CollateralPublished",
      args: { seq: count },
      fromBlock: 0n,
      strict: true,
    });
    assert.equal(await read("headAt", [count]), last?.args.head);
    assert.equal(await read("eventHead"), last?.args.head);
    const [oldest] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "CollateralPublished",
      args: { seq: count - window + 1n },
      fromBlock: 0n,
      strict: true,
    });
    assert.equal(await read("headAt", [count - window + 1n]), oldest?.args.head);
  });
});
