import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { JournalEntry } from "../../src/boundary/call-results.js";
import { EnclaveCallError, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from "../../src/boundary/frames.js";
import { sealCommand, signCommand } from "../../src/client/command.js";
import { decodeKeys, IDENTITY_SEAL_LABEL } from "../../src/enclave/identity.js";
import { unseal } from "../../src/enclave/sealing.js";
import { SimPlatform } from "../../src/enclave/sim-platform.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { filesUnder } from "../support/files.js";

const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };

async function rejects(call: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(call, (e: unknown) => e instanceof EnclaveCallError && e.code === code);
}

describe("enclave process", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-enclave-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a malformed, oversized, unknown or ill-typed call gets an error and changes nothing", async () => {
    const logs: string[] = [];
    const enclave = EnclaveProcess.start({ dataDir: join(dir, "bad-input"), onLog: (l) => logs.push(l) });
    try {
      await rejects(enclave.callUnchecked("noSuchCall", {}), "unknown_call");
      await rejects(enclave.call("quote"), "not_initialized");
      await rejects(enclave.callUnchecked("init", "not an object"), "invalid_argument");
      await rejects(enclave.callUnchecked("init", { chainId: 1, contract: "0x12" }), "invalid_argument");
      await rejects(
        enclave.callUnchecked("init", { chainId: -1, contract: DOMAIN.contract }),
        "invalid_argument",
      );
      await rejects(enclave.callUnchecked("init", { ...DOMAIN, extra: 1 }), "invalid_argument");
      await rejects(
        enclave.call("init", { ...DOMAIN, sealedIdentity: `0x${"00".repeat(5000)}` }),
        "invalid_argument",
      );
      await rejects(enclave.call("init", { ...DOMAIN, sealedIdentity: "0x0102" }), "sealed_identity_invalid");
      // Raw garbage: a frame that is not JSON, and a whole frame one byte over the limit.
      enclave.writeRaw(Buffer.from([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]));
      const oversized = Buffer.alloc(FRAME_HEADER_BYTES + MAX_FRAME_BYTES + 1, 0x41);
      oversized.writeUInt32BE(MAX_FRAME_BYTES + 1);
      enclave.writeRaw(oversized);
      // The enclave still serves, and none of the bad calls initialized it.
      const status = await enclave.call("status");
      assert.equal(status.address, undefined);
      assert.equal(status.platform, "sim");
      const init = await enclave.call("init", DOMAIN);
      assert.equal(init.created, "first-start");
      // Batches the host says it holds: a list of at most 8 enclave signatures of 65 bytes.
      await rejects(enclave.callUnchecked("sealBatch", { known: "0x12" }), "invalid_argument");
      await rejects(enclave.callUnchecked("sealBatch", { known: ["0x12"] }), "invalid_argument");
      await rejects(
        enclave.callUnchecked("sealBatch", { known: Array(9).fill(`0x${"11".repeat(65)}`) }),
        "invalid_argument",
      );
      assert.ok(logs.some((l) => l.includes("frame is not JSON")));
      assert.ok(logs.some((l) => l.includes("exceeds")));
    } finally {
      await enclave.stop();
    }
  });

  test("a restarted enclave unseals its identity; secrets never cross the boundary or reach host storage or logs", async () => {
    const enclaveDir = join(dir, "restart");
    const traffic: Buffer[] = [];
    const logs: string[] = [];
    const options = {
      dataDir: enclaveDir,
      tap: (_: string, frame: Buffer) => traffic.push(Buffer.from(frame)),
      onLog: (l: string) => logs.push(l),
    };
    const first = EnclaveProcess.start(options);
    const a = await first.call("init", DOMAIN);
    const status = await first.call("status");
    const quote = await first.call("quote");
    await first.call("signLeave", { nonce: "0" });
    await first.stop();

    const second = EnclaveProcess.start(options);
    const b = await second.call("init", { ...DOMAIN, sealedIdentity: a.sealedIdentity });
    await second.stop();
    assert.equal(b.address, a.address);
    assert.equal(b.hpkePublicKey, a.hpkePublicKey);
    assert.equal(b.created, undefined);
    assert.ok(quote.evidence.length > 200);

    // The test plays the platform to learn the secret keys, then looks for them everywhere the host sees.
    const platform = new SimPlatform(enclaveDir);
    const keys = decodeKeys(
      await unseal(
        platform,
        {
          measurement: hexToBytes(status.measurement),
          signerMeasurement: hexToBytes(status.signerMeasurement),
        },
        hexToBytes(a.sealedIdentity),
        { label: IDENTITY_SEAL_LABEL },
      ),
    );
    const secrets = [keys.signingKey, keys.hpkePrivateKey].flatMap((k) => [
      Buffer.from(k),
      Buffer.from(bytesToHex(k).slice(2)),
      Buffer.from(Buffer.from(k).toString("base64")),
    ]);
    const haystacks = [
      ...traffic,
      Buffer.from(logs.join("\n")),
      // The host's storage: everything in the data directory but the platform's own files.
      ...filesUnder(enclaveDir)
        .filter((f) => !f.includes("sim-platform-secret") && !f.includes("sim-quoting-key"))
        .map((f) => readFileSync(f)),
      Buffer.from(a.sealedIdentity),
    ];
    for (const secret of secrets) {
      for (const hay of haystacks) assert.equal(hay.includes(secret), false, "a secret key leaked");
    }
    assert.ok(traffic.length >= 8, "the tap saw the traffic");
  });

  test("accepted commands survive a restart through the sealed journal, in any order the host kept it", async () => {
    const enclaveDir = join(dir, "journal");
    const first = EnclaveProcess.start({ dataDir: enclaveDir });
    const init = await first.call("init", DOMAIN);
    const { sealedState } = await first.call("keyPackage", { nonce: "0" });
    const account = privateKeyToAccount(generatePrivateKey());
    const AMOUNT = "918273645";
    const journal: JournalEntry[] = [];
    for (let nonce = 0n; nonce < 3n; nonce++) {
      const signed = await signCommand(account, DOMAIN, {
        app: "erc20",
        command: nonce === 0n ? "construct" : "transfer",
        params: nonce === 0n ? { totalSupply: AMOUNT } : { to: account.address, amount: AMOUNT },
        nonce,
      });
      const envelope = bytesToHex(await sealCommand(signed.signed, init.hpkePublicKey));
      journal.push((await first.call("submitCommand", { envelope })).journal!);
    }
    await first.stop();
    assert.deepEqual(
      journal.map((j) => [j.seq, j.kind]),
      [
        [1, "accepted"],
        [2, "accepted"],
        [3, "accepted"],
      ],
    );
    assert.ok(journal.every((j) => !j.sealed.includes(Buffer.from(AMOUNT).toString("hex"))));

    const second = EnclaveProcess.start({ dataDir: enclaveDir });
    try {
      await second.call("init", { ...DOMAIN, sealedIdentity: init.sealedIdentity });
      const tampered = journal.map((j) => j.sealed);
      tampered[1] = `${tampered[1]!.slice(0, -2)}${tampered[1]!.endsWith("00") ? "01" : "00"}` as Hex;
      await rejects(
        second.call("restoreState", { sealedState, sealedJournal: tampered }),
        "sealed_state_invalid",
      );
      assert.equal((await second.call("groupStatus")).ledger.queued, 0);
      // Shuffled and with a record twice: each command is queued once.
      const kept = [journal[2]!, journal[0]!, journal[1]!, journal[0]!].map((j) => j.sealed);
      const restored = await second.call("restoreState", {
        sealedState,
        sealedJournal: kept,
      });
      assert.equal(restored.ledger.queued, 3);
      // The sender's next nonce continues after the restored commands, and so does the journal.
      const sealedTransfer = async (nonce: bigint) => {
        const signed = await signCommand(account, DOMAIN, {
          app: "erc20",
          command: "transfer",
          params: { to: account.address, amount: "1" },
          nonce,
        });
        return bytesToHex(await sealCommand(signed.signed, init.hpkePublicKey));
      };
      // A replay, refused after opening: the host sees only `refused` (the reason is sealed).
      await rejects(second.call("submitCommand", { envelope: await sealedTransfer(2n) }), "refused");
      const fourth = await second.call("submitCommand", {
        envelope: await sealedTransfer(3n),
      });
      assert.equal(fourth.journal!.seq, 4);
    } finally {
      await second.stop();
    }
  });

  test("an identity sealed by another measurement yields a new identity", async () => {
    const enclaveDir = join(dir, "upgrade");
    const first = EnclaveProcess.start({ dataDir: enclaveDir });
    const a = await first.call("init", DOMAIN);
    await first.stop();
    // A different build (another measurement) of the enclave on the same machine.
    const { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } = await import("../../src/build/enclave-bundle.js");
    const other = await buildEnclaveBundle({
      outFile: join(dir, "other-build.mjs"),
      config: { ...DEFAULT_ENCLAVE_CONFIG, version: "upgraded" },
    });
    const second = EnclaveProcess.start({ dataDir: enclaveDir, bundle: other.path });
    const b = await second.call("init", { ...DOMAIN, sealedIdentity: a.sealedIdentity });
    await second.stop();
    assert.equal(b.created, "measurement-changed");
    assert.notEqual(b.address, a.address);
  });
});
