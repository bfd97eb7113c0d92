// Restoring sealed state in process: once per enclave, before anything changes state, and only from
// an unbroken journal. Every refusal leaves the enclave as it was.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { JournalEntry } from "../../boundary/call-results.js";
import { type CallName, type CallParams, ENCLAVE_CALLS } from "../../boundary/calls.js";
import type { Enclave } from "../enclave.js";
import { call, DOMAIN, enclaveOn, refusedWith, sealedErc20Command, send } from "../test-harness.js";

const COMMANDS = 4;
/** Calls that only read: the window to restore stays open after them. */
const READING: { [K in CallName]?: CallParams<K> } = {
  status: {},
  quote: {},
  signLeave: { nonce: "0" },
  signPeerAnnouncement: { nonce: "0", url: "http://127.0.0.1:8080/" },
  groupStatus: {},
  commandStatus: { id: `0x${"11".repeat(32)}` },
  query: { envelope: "0x01" },
  publicQuery: { name: "totalSupply", params: "{}" },
  snapshotChunk: { hash: `0x${"11".repeat(32)}`, offset: 0 },
  signSnapshot: { nonce: "0", hash: `0x${"11".repeat(32)}` },
};
/** Calls that may change state: the first of them ends the window, even one refused. */
const CHANGING: CallName[] = [
  "applyEvents",
  "keyPackage",
  "proposeHandshake",
  "submitCommand",
  "sealBatch",
  "installSnapshot",
  "resumeSession",
  "checkOutputs",
];

describe("restoreState (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-checkpoint-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const account = privateKeyToAccount(generatePrivateKey());
  let sealedIdentity: Hex;
  let hpkePublicKey: Hex;
  let sealedState: Hex;
  const journal: JournalEntry[] = [];
  const ids: Hex[] = [];

  /** The same enclave identity in a new process (the host restarted it). */
  const restarted = async (): Promise<Enclave> => {
    const enclave = enclaveOn(dir);
    await call(enclave, "init", { ...DOMAIN, sealedIdentity });
    return enclave;
  };
  const restore = (enclave: Enclave, records: (JournalEntry | undefined)[]) =>
    call(enclave, "restoreState", { sealedState, sealedJournal: records.map((r) => r!.sealed) });
  const status = (enclave: Enclave, i: number) => call(enclave, "commandStatus", { id: ids[i]! });
  const submit = async (enclave: Enclave, nonce: bigint) =>
    call(enclave, "submitCommand", {
      envelope: await sealedErc20Command(account, DOMAIN, hpkePublicKey, nonce),
    });

  before(async () => {
    const first = enclaveOn(dir);
    ({ sealedIdentity, hpkePublicKey } = await call(first, "init", DOMAIN));
    ({ sealedState } = await call(first, "keyPackage", { nonce: "0" }));
    for (let nonce = 0n; nonce < COMMANDS; nonce++) {
      const accepted = await submit(first, nonce);
      journal.push(accepted.journal!);
      ids.push(accepted.id);
    }
  });

  it("restores once, and not after a call that may change state", async () => {
    const named = [...Object.keys(READING), ...CHANGING, "init", "restoreState"].sort();
    assert.deepEqual(named, Object.keys(ENCLAVE_CALLS).sort(), "every call is named as reading or changing");
    for (const [name, params] of Object.entries(READING)) {
      const enclave = await restarted();
      await send(enclave, name, params).catch(() => undefined);
      assert.equal((await restore(enclave, journal)).ledger.queued, COMMANDS, `restorable after ${name}`);
      // Once restored, never again: not even the same state.
      const again = await refusedWith(restore(enclave, journal.slice(0, 1)), "restore_closed");
      assert.match(again.message, /already restored/);
      assert.equal((await call(enclave, "groupStatus", {})).ledger.queued, COMMANDS);
    }
    const params: { [K in CallName]?: CallParams<K> } = {
      applyEvents: { events: [] },
      checkOutputs: { records: [] },
      keyPackage: { nonce: "0" },
      submitCommand: { envelope: await sealedErc20Command(account, DOMAIN, hpkePublicKey, 0n) },
      installSnapshot: {
        bytes: "0x01",
        commitment: {
          enclave: `0x${"01".repeat(20)}`,
          nonce: "0",
          stateDigest: `0x${"02".repeat(32)}`,
          signature: `0x${"03".repeat(65)}`,
        },
      },
    };
    for (const name of CHANGING) {
      const enclave = await restarted();
      await send(enclave, name, params[name] ?? {}).catch(() => undefined);
      const late = await refusedWith(restore(enclave, journal), "restore_closed");
      assert.match(late.message, new RegExp(name));
      await refusedWith(status(enclave, COMMANDS - 1), "not_found");
    }
  });

  it("refuses a journal with a record missing from its middle or its start, and may then restore", async () => {
    const enclave = await restarted();
    const [r1, r2, r3, r4] = journal;
    await refusedWith(restore(enclave, [r1, r2, r4]), "journal_broken");
    await refusedWith(restore(enclave, [r2, r3, r4]), "journal_broken");
    await refusedWith(status(enclave, 0), "not_found");
    assert.equal((await call(enclave, "groupStatus", {})).ledger.queued, 0);
    // A refused restore changed nothing, so the whole journal, shuffled and with a copy, still restores.
    assert.equal((await restore(enclave, [r4, r2, r1, r3, r2])).ledger.queued, COMMANDS);
    assert.equal((await status(enclave, COMMANDS - 1)).status, "queued");
  });

  it("after a restore without the journal's tail, continues the chain from the last record restored", async () => {
    const [r1, r2, r3, r4] = journal;
    const truncated = await restarted();
    assert.equal((await restore(truncated, [r1, r2, r3])).ledger.queued, 3);
    await refusedWith(status(truncated, 3), "not_found");
    // The lost command's nonce is free again; its new record takes the number the lost one had.
    const replaced = await submit(truncated, 3n);
    assert.equal(replaced.journal!.seq, 4);

    const next = await restarted();
    // The old record 4 and the new one cannot both be the journal's fourth.
    await refusedWith(restore(next, [r1, r2, r3, r4, replaced.journal]), "journal_broken");
    assert.equal((await restore(next, [r1, r2, r3, replaced.journal])).ledger.queued, COMMANDS);
    assert.equal((await call(next, "commandStatus", { id: replaced.id })).status, "queued");
  });
});
