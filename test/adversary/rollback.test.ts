// A malicious host tries to roll its enclave back: it drives a real enclave process and hands it
// its own sealed state again, later or twice, or a journal it has cut or spliced. Each attempt is
// refused with a named code, and the enclave is left as it was and still serves.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { JournalEntry } from "../../src/boundary/call-results.js";
import { EnclaveCallError } from "../../src/boundary/frames.js";
import { sealedErc20Command } from "../../src/enclave/test-harness.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";

const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };
const COMMANDS = 3;

async function refused(call: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(call, (e: unknown) => e instanceof EnclaveCallError && e.code === code);
}

describe("a host that rolls its enclave back", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-rollback-"));
  const enclaveDir = join(dir, "enclave");
  const running: EnclaveProcess[] = [];
  after(async () => {
    await Promise.all(running.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const alice = privateKeyToAccount(generatePrivateKey());
  let sealedIdentity: Hex;
  let hpkePublicKey: Hex;
  let sealedState: Hex;
  /** What the honest run journaled: one accepted command of alice's per record. */
  const journal: JournalEntry[] = [];
  const ids: Hex[] = [];

  /** The enclave, restarted by the host on the same machine with its sealed identity. */
  const restart = async (): Promise<EnclaveProcess> => {
    const enclave = EnclaveProcess.start({ dataDir: enclaveDir });
    running.push(enclave);
    await enclave.call("init", { ...DOMAIN, sealedIdentity });
    return enclave;
  };
  const restore = (enclave: EnclaveProcess, records: (JournalEntry | undefined)[]) =>
    enclave.call("restoreState", { sealedState, sealedJournal: records.map((r) => r!.sealed) });
  const submit = async (enclave: EnclaveProcess, account: LocalAccount, nonce: bigint) =>
    enclave.call("submitCommand", {
      envelope: await sealedErc20Command(account, DOMAIN, hpkePublicKey, nonce),
    });
  const queued = async (enclave: EnclaveProcess) => (await enclave.call("groupStatus")).ledger.queued;
  const notFound = (enclave: EnclaveProcess, id: Hex) =>
    refused(enclave.call("commandStatus", { id }), "not_found");

  before(async () => {
    const honest = EnclaveProcess.start({ dataDir: enclaveDir });
    try {
      ({ sealedIdentity, hpkePublicKey } = await honest.call("init", DOMAIN));
      ({ sealedState } = await honest.call("keyPackage", { nonce: "0" }));
      for (let nonce = 0n; nonce < COMMANDS; nonce++) {
        const accepted = await submit(honest, alice, nonce);
        journal.push(accepted.journal!);
        ids.push(accepted.id);
      }
    } finally {
      await honest.stop();
    }
  });

  test("a second restore, even of a longer journal, is refused", async () => {
    const enclave = await restart();
    assert.equal((await restore(enclave, journal.slice(0, 1))).ledger.queued, 1);
    await refused(restore(enclave, journal), "restore_closed");
    assert.equal(await queued(enclave), 1);
    await notFound(enclave, ids[1]!);
    // Still serving from the first restore: alice's next nonce is 1, the journal's next record 2.
    const next = await submit(enclave, alice, 1n);
    assert.equal(next.journal!.seq, 2);
  });

  test("a restore after the enclave accepted a command is refused", async () => {
    const enclave = await restart();
    const bob = privateKeyToAccount(generatePrivateKey());
    const accepted = await submit(enclave, bob, 0n);
    await refused(restore(enclave, journal), "restore_closed");
    assert.equal(await queued(enclave), 1);
    await notFound(enclave, ids[0]!);
    assert.equal((await enclave.call("commandStatus", { id: accepted.id })).status, "queued");
  });

  test("a journal with a record dropped from the middle is refused; the whole one then restores", async () => {
    const enclave = await restart();
    const [first, second, last] = journal;
    await refused(restore(enclave, [first, last]), "journal_broken");
    assert.equal(await queued(enclave), 0);
    await notFound(enclave, ids[0]!);
    // Reordered and duplicated by the host's file: the enclave sorts by number and keeps one copy.
    const restored = await restore(enclave, [last, first, second, first]);
    assert.equal(restored.ledger.queued, COMMANDS);
  });

  test("records spliced from two histories are refused", async () => {
    // The host cuts the journal's tail and restores; the enclave goes on, numbering from the cut.
    const cut = await restart();
    await restore(cut, journal.slice(0, 2));
    const carol = privateKeyToAccount(generatePrivateKey());
    const third = await submit(cut, carol, 0n);
    const fourth = await submit(cut, carol, 1n);
    assert.deepEqual([third.journal!.seq, fourth.journal!.seq], [3, 4]);
    await cut.stop();

    const enclave = await restart();
    // The old third record (alice's) followed by the new fourth (carol's second).
    await refused(restore(enclave, [...journal, fourth.journal]), "journal_broken");
    // Both third records: two different records of one number.
    await refused(restore(enclave, [...journal, third.journal, fourth.journal]), "journal_broken");
    assert.equal(await queued(enclave), 0);
    await notFound(enclave, fourth.id);
    // The history the enclave wrote last restores whole.
    const restored = await restore(enclave, [fourth.journal, ...journal.slice(0, 2), third.journal]);
    assert.equal(restored.ledger.queued, COMMANDS + 1);
    assert.equal((await enclave.call("commandStatus", { id: fourth.id })).status, "queued");
  });
});
