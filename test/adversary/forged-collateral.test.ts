// Collateral reaching members through the chain, and a host that lies about it. An operator
// publishes Intel's real collateral with `anonify collateral publish`; an attacker publishes a copy
// whose TCB info claims fresher collateral (calling the contract directly, since the CLI refuses it);
// the host then feeds its real production enclave process both events from the chain, and one of its
// own making that was never on chain. The enclave holds the genuine set only, says why it ignored
// the others, and a later republication of the same set changes nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex, parseEventLogs } from "viem";
import { readVectorJson, vectorsSkip } from "../../src/attestation/dcap/test-vectors.js";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../../src/build/enclave-bundle.js";
import { writeAnonifyMined } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { writeNetworkProfile } from "../../src/client/network-profile.js";
import { toLedgerEvent } from "../../src/host/chain-io/event-feed.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { encodeCollateralRecord } from "../../src/protocol/collateral-record.js";
import { anonify } from "../operators/operator-net.js";
import { anvilKey, type LedgerFixture, startLedgerFixture } from "../support/chain.js";
import { placedAfter } from "../support/forged-events.js";

const COLLATERAL = "sgx-dcap/sgx_quote_collateral.json";

describe("collateral on chain, and a host that forges it", { skip: vectorsSkip }, () => {
  let f: LedgerFixture;
  let dir: string;
  let enclave: EnclaveProcess;
  before(async () => {
    f = await startLedgerFixture();
    dir = mkdtempSync(join(tmpdir(), "anonify-forged-collateral-"));
    const { path: bundle } = await buildEnclaveBundle({
      outFile: join(dir, "production/enclave.mjs"),
      config: { ...DEFAULT_ENCLAVE_CONFIG, profile: "production" },
    });
    enclave = EnclaveProcess.start({ dataDir: join(dir, "enclave"), bundle });
    await enclave.call("init", f.domain);
  });
  after(async () => {
    await enclave?.stop();
    await f?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The ledger events of one transaction, as the node's host converts them for its enclave. */
  async function eventsOf(transaction: Hex): Promise<LedgerEvent[]> {
    const receipt = await f.owner.publicClient.getTransactionReceipt({ hash: transaction });
    return parseEventLogs({ abi: anonifyAbi, logs: receipt.logs }).flatMap((log) => {
      const event = toLedgerEvent({ ...log, blockNumber: log.blockNumber, logIndex: log.logIndex } as never);
      return event ? [event] : [];
    });
  }

  test("genuine collateral is held; a forged copy on chain and one never on chain are ignored, each saying why", async () => {
    const profile = join(dir, "network.json");
    writeNetworkProfile(profile, {
      chainId: f.domain.chainId,
      contract: f.contract,
      deployedAtBlock: 0n,
      rpcUrl: f.anvil.rpcUrl,
    });
    const gas = join(dir, "gas.key");
    writeFileSync(gas, anvilKey(4), { mode: 0o600 });
    const file = join(dir, "collateral.json");
    const genuine = readVectorJson(COLLATERAL) as Record<string, string>;
    writeFileSync(file, JSON.stringify(genuine));

    // The operator publishes; the CLI names what it published (and that its window is past).
    const published = await anonify("collateral", "publish", file, "--network", profile, "--key", gas);
    assert.match(
      published.stdout,
      /published sgx collateral for FMSPC 00a067110000 .*tcbEvaluationDataNumber 17/,
    );
    assert.match(published.stdout, /warning: its next update \(2025-07-19T10:01:18.000Z\) is past/);
    const [transaction] = published.stdout.match(/0x[0-9a-f]{64}/) ?? [];
    const onChain = await eventsOf(transaction as Hex);
    assert.equal(onChain.length, 1);

    // The CLI refuses to spend gas on a set no member would hold ...
    // Fresher than the genuine set by its own word (issued a day later), so that members weigh it.
    const forged = {
      ...genuine,
      tcb_info: genuine
        .tcb_info!.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":99')
        .replace('"issueDate":"2025-06-19T10:56:11Z"', '"issueDate":"2025-06-20T10:56:11Z"'),
    };
    writeFileSync(file, JSON.stringify(forged));
    await assert.rejects(
      anonify("collateral", "publish", file, "--network", profile, "--key", gas),
      (e: unknown) =>
        /rejected \(bad_collateral\): TCB info: signature invalid/.test((e as { stderr: string }).stderr),
    );
    // ... so the attacker calls the contract itself: the chain takes anything.
    const receipt = await writeAnonifyMined(f.owner, f.contract, "publishCollateral", [
      bytesToHex(encodeCollateralRecord(forged)),
    ]);
    const forgedOnChain = await eventsOf(receipt.transactionHash);

    const status = async () => (await enclave.call("groupStatus")).group;
    await enclave.call("applyEvents", { events: onChain });
    let group = await status();
    assert.equal(group.lastCollateralEvent?.outcome, "held");
    assert.deepEqual(
      group.collateral.map((c) => [c.platform, c.fmspc, c.tcbEvaluationDataNumber]),
      [["sgx", "00a067110000", 17]],
    );

    await enclave.call("applyEvents", { events: forgedOnChain });
    group = await status();
    assert.equal(group.lastCollateralEvent?.outcome, "ignored: TCB info: signature invalid");
    assert.equal(group.collateral[0]?.tcbEvaluationDataNumber, 17, "the forged number is not held");

    // An event of the host's own making, placed after the last one it fed (the host computes the
    // event chain's head itself: its inputs are public): a record that is no record, and the genuine
    // set again (replayed), which is not fresher.
    const first = placedAfter(forgedOnChain[0]!, { kind: "CollateralPublished", collateral: "0x00ff" });
    await enclave.call("applyEvents", { events: [first] });
    assert.equal(
      (await status()).lastCollateralEvent?.outcome,
      "ignored: not a collateral record (bad magic)",
    );
    await enclave.call("applyEvents", {
      events: [
        placedAfter(first, {
          kind: "CollateralPublished",
          collateral: bytesToHex(encodeCollateralRecord(genuine)),
        }),
      ],
    });
    group = await status();
    assert.equal(group.lastCollateralEvent?.outcome, "ignored: the set held already");
    assert.equal(group.collateral.length, 1);
  });
});
