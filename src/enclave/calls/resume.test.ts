// resumeSession in process: a host that reconnected to its enclave (served in a VM, it outlived the
// connection) and lost answers in the drop gets what it keeps made whole again, so that a later
// restart restores every command the enclave accepted, the lost one too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { JournalEntry } from "../../boundary/call-results.js";
import { call, DOMAIN, enclaveOn, refusedWith, sealedErc20Command } from "../test-harness.js";

const COMMANDS = 4;
/** The command whose answer the drop lost: the host never kept its journal record. */
const LOST = 2;

describe("resumeSession (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-resume-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("hands a host that lost an answer a whole checkpoint and journal: a restart restores every command", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const running = enclaveOn(dir);
    const { sealedIdentity, hpkePublicKey } = await call(running, "init", DOMAIN);
    const { sealedState } = await call(running, "keyPackage", { nonce: "0" });
    const kept: JournalEntry[] = [];
    for (let nonce = 0n; nonce < COMMANDS; nonce++) {
      const envelope = await sealedErc20Command(account, DOMAIN, hpkePublicKey, nonce);
      const accepted = await call(running, "submitCommand", { envelope });
      if (nonce !== BigInt(LOST)) kept.push(accepted.journal!);
    }
    const restarted = async () => {
      const enclave = enclaveOn(dir);
      await call(enclave, "init", { ...DOMAIN, sealedIdentity });
      return enclave;
    };
    const restore = async (state: typeof sealedState, journal: JournalEntry[]) =>
      call(await restarted(), "restoreState", {
        sealedState: state,
        sealedJournal: journal.map((r) => r.sealed),
      });

    // What the host kept is broken: a restart from it would be refused.
    await refusedWith(restore(sealedState, kept), "journal_broken");

    const resumed = await call(running, "resumeSession", {});
    assert.equal(resumed.ledger.queued, COMMANDS, "the enclave kept every command, the lost one too");
    assert.equal(resumed.journal.kind, "snapshot");
    const restored = await restore(resumed.sealedState, [...kept, resumed.journal]);
    assert.equal(restored.ledger.queued, COMMANDS);
    // An enclave that resumed keeps its own state: nothing sealed may be restored over it.
    await refusedWith(call(running, "restoreState", { sealedState, sealedJournal: [] }), "restore_closed");
  });
});
