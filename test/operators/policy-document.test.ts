// Signed policy documents made with the CLI as policy signers would: one writes the document for the
// network, each signs with their own key, anyone publishes it; the event on chain verifies against
// the development build's pinned keys, with the contents asked for.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Hex, parseEventLogs } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { writeNetworkProfile } from "../../src/client/network-profile.js";
import { DEV_POLICY_KEYS, DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { verifyPolicy } from "../../src/protocol/policy-signatures.js";
import { anvilKey, type LedgerFixture, startLedgerFixture } from "../support/chain.js";
import { anonify } from "./operator-net.js";

describe("anonify policy document, sign, publish", () => {
  let f: LedgerFixture;
  let dir: string;
  let profile: string;
  const keyFile = (name: string, key: Hex) => {
    const path = join(dir, name);
    writeFileSync(path, key, { mode: 0o600 });
    return path;
  };
  before(async () => {
    f = await startLedgerFixture();
    dir = mkdtempSync(join(tmpdir(), "anonify-policy-doc-"));
    profile = join(dir, "network.json");
    writeNetworkProfile(profile, {
      chainId: f.domain.chainId,
      contract: f.contract,
      deployedAtBlock: 0n,
      rpcUrl: f.anvil.rpcUrl,
    });
  });
  after(async () => {
    await f?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a document signed by two pinned keys, published, verifies inside with what it says", async () => {
    const doc = join(dir, "v1.json");
    const revoked = "0x00000000000000000000000000000000000000aa";
    const next = `0x${"ab".repeat(32)}`;
    await anonify(
      ...["policy", "document", "--network", profile, "--version", "1", "--out", doc],
      ...[
        "--revoke",
        revoked,
        "--admit",
        `sim:${next}`,
        "--tcb-minimum",
        "sgx:UpToDate,SWHardeningNeeded:17",
      ],
    );
    // Publishing an unsigned document is refused before anything is sent.
    const gas = keyFile("gas.key", anvilKey(3));
    await assert.rejects(
      anonify("policy", "publish", doc, "--network", profile, "--key", gas),
      (e: unknown) => /rejected \(unsigned\)/.test((e as { stderr: string }).stderr),
    );
    const [k1, k2] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex];
    await anonify("policy", "sign", doc, "--key", keyFile("signer1.key", k1));
    const second = await anonify("policy", "sign", doc, "--key", keyFile("signer2.key", k2), "--json");
    assert.equal((JSON.parse(second.stdout) as { signers: string[] }).signers.length, 2);

    const published = JSON.parse(
      (await anonify("policy", "publish", doc, "--network", profile, "--key", gas, "--json")).stdout,
    ) as { transaction: Hex };
    const receipt = await f.owner.publicClient.getTransactionReceipt({ hash: published.transaction });
    const [event] = parseEventLogs({ abi: anonifyAbi, logs: receipt.logs, eventName: "PolicyPublished" });
    assert.ok(event);
    const verified = await verifyPolicy(
      event.args.document,
      event.args.signatures,
      f.domain,
      DEV_POLICY_KEYS,
    );
    assert.equal(verified.version, 1n);
    assert.deepEqual(verified.revocations, [revoked]);
    assert.deepEqual(verified.measurements, [{ platform: 0, measurement: next }]);
    assert.deepEqual(verified.tcbMinimums, [
      { platform: 1, statuses: ["UpToDate", "SWHardeningNeeded"], tcbEvaluationDataNumber: 17 },
    ]);
    assert.equal(JSON.parse(readFileSync(doc, "utf8")).signatures.length, 2);
  });

  test("bad inputs are refused with what to fix", async () => {
    const doc = join(dir, "bad.json");
    const cases: [string[], RegExp][] = [
      [["--admit", "quantum:0x01"], /bad_platform/],
      [["--tcb-minimum", "sgx:Fine:1"], /TCB status Fine is none of/],
      [["--revoke", "nobody"], /bad_address/],
      [
        ["--migrate-app", `tally:0:0x${"0a".repeat(32)},tally:2:0x${"0b".repeat(32)}`],
        /--migrate-app takes FROM,TO, each NAME:STATE_VERSION:CODE_HASH/,
      ],
      [
        ["--migrate-app", `tally:2:0x${"0a".repeat(32)},tally:2:0x${"0b".repeat(32)}`],
        /bad_app.*higher state version/,
      ],
      // An app id is a hash: the full identities show the names, and an upgrade keeps the app's.
      [
        ["--migrate-app", `tally:1:0x${"0a".repeat(32)},other:2:0x${"0b".repeat(32)}`],
        /bad_app.*keeps the app's name: app "tally" cannot become app "other"/,
      ],
    ];
    for (const [args, expected] of cases) {
      await assert.rejects(
        anonify("policy", "document", "--network", profile, "--version", "2", "--out", doc, ...args),
        (e: unknown) => expected.test((e as { stderr: string }).stderr),
        args.join(" "),
      );
    }
    writeFileSync(doc, JSON.stringify({ document: "0x00", signatures: [] }));
    await assert.rejects(
      anonify("policy", "sign", doc, "--key", keyFile("any.key", generatePrivateKey())),
      (e: unknown) =>
        /rejected \(bad_document\): .*document truncated/.test((e as { stderr: string }).stderr),
    );
  });
});
