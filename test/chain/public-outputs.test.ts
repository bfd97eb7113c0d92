// Public outputs on chain, on a real Anvil (src/protocol/public-outputs.ts): a batch's outputs record
// is taken only signed by the active enclave that submitted the batch, over the head at the batch's
// own event, once; the contract keeps its hash for other contracts, and the sequence is unchanged.
// Each attacker's try is refused by name.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { writeAnonifyMined } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { batchDigest, type ChainPosition, outputsDigest } from "../../src/protocol/digests.js";
import { encodeOutputs } from "../../src/protocol/public-outputs.js";
import {
  type LedgerFixture,
  latestPoint,
  MEASUREMENT,
  ownerCall,
  readAnonify,
  registeredEnclave,
  revertName,
  signRaw,
  startLedgerFixture,
  type TestEnclave,
} from "../support/chain.js";

const SERVICE_KEY = generatePrivateKey();
const STATE_DIGEST = `0x${"d1".repeat(32)}` as Hex;
/** What a publication of a one-bucket record may cost: calldata, one storage write, the event. */
const MAX_PUBLISH_GAS = 80_000n;

describe("public outputs on chain", () => {
  let f: LedgerFixture;
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    readAnonify<T>(f, functionName, args);
  const latest = () => latestPoint(f);
  const registered = () => registeredEnclave(f, SERVICE_KEY);

  /** `enclave` orders a batch; its index and the position of its event. */
  async function batch(enclave: TestEnclave): Promise<{ index: bigint; at: ChainPosition }> {
    const epoch = await read<bigint>("epoch");
    const { batchNonce } = await read<{ batchNonce: bigint }>("getEnclave", [enclave.address]);
    const base = await latest();
    const ciphertext = toHex(new Uint8Array(64).fill(1));
    const signature = await signRaw(
      enclave.key,
      batchDigest(f.domain, { epoch, nonce: batchNonce, ciphertext, count: 1 }, base, STATE_DIGEST),
    );
    await writeAnonifyMined(f.owner, f.contract, "submitBatch", [
      epoch,
      ciphertext,
      1,
      enclave.address,
      base.seq,
      STATE_DIGEST,
      signature,
    ]);
    return { index: (await read<bigint>("batchCount")) - 1n, at: await latest() };
  }

  const record = (amount: bigint): Hex =>
    toHex(encodeOutputs([{ sequence: 0n, output: { winner: "x", amount } }]));

  const publishOutputs = async (key: Hex, index: bigint, at: ChainPosition, outputs: Hex, signedAt = at) =>
    writeAnonifyMined(f.owner, f.contract, "publishOutputs", [
      index,
      at.seq,
      outputs,
      await signRaw(key, outputsDigest(f.domain, index, signedAt, outputs)),
    ]);

  before(async () => {
    f = await startLedgerFixture();
    await ownerCall(f, "setTrustedSigner", [privateKeyToAccount(SERVICE_KEY).address, true]);
    await ownerCall(f, "setMeasurementAllowed", [MEASUREMENT, true]);
  });
  after(async () => f.stop());

  test("the submitter's record lands once, outside the sequence, its hash kept", async () => {
    const submitter = await registered();
    const { index, at } = await batch(submitter);
    const outputs = record(5n);
    const receipt = await publishOutputs(submitter.key, index, at, outputs);
    assert.equal(receipt.status, "success");
    assert.ok(receipt.gasUsed < MAX_PUBLISH_GAS, `publishOutputs used ${receipt.gasUsed} gas`);
    assert.equal(await read("outputsHash", [index]), keccak256(outputs));
    assert.deepEqual(await latest(), at, "the event sequence and its head are unchanged");
    const [event] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "OutputsPublished",
      args: { batch: index },
      fromBlock: receipt.blockNumber,
      strict: true,
    });
    assert.equal(event?.args.outputs, outputs);
    assert.equal(event?.args.enclave.toLowerCase(), submitter.address.toLowerCase());
    assert.equal(event?.args.seq, at.seq);
    // A second publication, even of the same record, is refused.
    assert.equal(
      await revertName(publishOutputs(submitter.key, index, at, outputs)),
      "OutputsAlreadyPublished",
    );
    assert.equal(
      await revertName(publishOutputs(submitter.key, index, at, record(6n))),
      "OutputsAlreadyPublished",
    );
  });

  test("another enclave, an inactive one, a forged signature, a wrong head or position: refused by name", async () => {
    const submitter = await registered();
    const other = await registered();
    const { index, at } = await batch(submitter);
    const outputs = record(7n);
    assert.equal(await revertName(publishOutputs(other.key, index, at, outputs)), "NotBatchSubmitter");
    // A key that is no enclave's (the host's own): no enclave signed it.
    assert.equal(await revertName(publishOutputs(generatePrivateKey(), index, at, outputs)), "NotRegistered");
    // Signed over another head (a fork's): it recovers no enclave.
    const fork = { seq: at.seq, head: keccak256("0x01") };
    assert.equal(await revertName(publishOutputs(submitter.key, index, at, outputs, fork)), "NotRegistered");
    // Another position than the batch's event, and a batch never ordered.
    const elsewhere = { seq: at.seq - 1n, head: await read<Hex>("headAt", [at.seq - 1n]) };
    assert.equal(
      await revertName(publishOutputs(submitter.key, index, elsewhere, outputs)),
      "BatchPositionMismatch",
    );
    assert.equal(await revertName(publishOutputs(submitter.key, index + 9n, at, outputs)), "UnknownBatch");
    assert.equal(
      await revertName(writeAnonifyMined(f.owner, f.contract, "publishOutputs", [index, at.seq, "0x", "0x"])),
      "EmptyPayload",
    );
    await ownerCall(f, "revokeEnclave", [submitter.address]);
    assert.equal(await revertName(publishOutputs(submitter.key, index, at, outputs)), "EnclaveNotActive");
    assert.equal(await read("outputsHash", [index]), `0x${"00".repeat(32)}`, "nothing was published");
  });
});
