// The signature workers play against a member that forges commands in its batch: a forged copy of a
// signed transfer (another amount, the same signature and key) must be refused with the workers as
// without them, the rest applied to the same receipts and state digest; a worker that crashes must
// leave its checks to the inline path, never skip them.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { until } from "../../test/support/wait.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";
import { checkAhead, checkRunAhead } from "./batch-prefetch.js";
import type { LedgerAppState } from "./confidential-ledger.js";
import { initialLedgerApp } from "./confidential-ledger.js";
import { applyBatch } from "./ledger-batches.js";
import { ledgerRoot, stateDigestAt } from "./ledger-digest.js";
import { defaultSignatureWorkers, SignaturePool, signatureWorkersFrom } from "./signature-pool.js";
import { CommandRejected, verifySignedCommand } from "./signed-messages.js";
import { type BatchSubmitted, forgedCopy, freshChecks, type SealedRun, sealedRun } from "./test-batches.js";
import { appStateIn } from "./test-harness.js";
import { workerUnderTsx } from "./test-signature-pool.js";

const pools: SignaturePool[] = [];
after(() => Promise.all(pools.map((p) => p.close())));
const pool = (size: number) => {
  const made = new SignaturePool(size, workerUnderTsx);
  pools.push(made);
  return made;
};

/** Every 5th transfer forged: a copy of a signed one with another amount. */
const FORGED_EVERY = 5;
const PER_BATCH = 16;
const BATCHES = 3;
const run: Promise<SealedRun> = sealedRun({
  batches: BATCHES,
  perBatch: PER_BATCH,
  forge: (i) => i % FORGED_EVERY === 2,
});

/** Applies the run's batches; with a pool, each run of batches is checked ahead as applyEvents does. */
async function applyAll(sealed: SealedRun, workers?: SignaturePool) {
  const context = freshChecks(sealed.context);
  const key = { epochKey: context.epochKey, mlsEpoch: context.mlsEpoch, domain: context.domain };
  const events: readonly BatchSubmitted[] = sealed.events;
  let state: LedgerAppState = initialLedgerApp(context.app);
  let ahead = { ahead: new Map<number, Promise<void>>(), until: 0 };
  for (const [at, event] of events.entries()) {
    if (at >= ahead.until) ahead = checkRunAhead(events, at, key, { ...context, signaturePool: workers });
    await ahead.ahead.get(at);
    state = applyBatch(state, event, context);
  }
  const last = events.at(-1)!;
  const digest = stateDigestAt(
    context.epochKey,
    { seq: BigInt(last.seq), head: last.head },
    ledgerRoot(state, appStateIn()),
  );
  return { state, digest, checkedInline: context.signatures.stats.checked };
}

describe("signature workers", () => {
  test("a worker verifies a good signature and refuses a forged copy of it by name", async () => {
    const sealed = await run;
    const good = sealed.commands[200]!; // transfer 0: signed as it is
    const forged = sealed.commands.find((_, i) => i > 200 && (i - 200) % FORGED_EVERY === 2)!;
    const [verified, refused] = await pool(1).check(sealed.context.domain, [good, forged]);
    assert.ok(verified && "digest" in verified, JSON.stringify(verified));
    assert.equal(verified.digest.length, 32);
    assert.deepEqual(refused, { refused: "bad_signature" });
  });

  test("a batch with forged commands applies the rest exactly as the inline path does", async () => {
    const sealed = await run;
    const inline = await applyAll(sealed);
    const workers = await applyAll(sealed, pool(2));
    const forged = Math.ceil((BATCHES * PER_BATCH - 2) / FORGED_EVERY);
    // Inline, every command was verified on the apply path; with workers only the forged ones were
    // (a worker refused them, so nothing was remembered and the apply path checked them itself).
    assert.equal(inline.checkedInline, sealed.commands.length);
    assert.equal(workers.checkedInline, forged);
    assert.equal(inline.state.receipts.size, sealed.commands.length - forged);
    assert.deepEqual([...workers.state.receipts], [...inline.state.receipts]);
    assert.deepEqual([...workers.state.nonces], [...inline.state.nonces]);
    assert.equal(workers.digest, inline.digest);
  });

  test("a signature a worker verified vouches for exactly those bytes: a forged copy is refused", async () => {
    const sealed = await run;
    const good = sealed.commands[200]!;
    const { signatures, domain, app } = freshChecks(sealed.context);
    await checkAhead(pool(1), signatures, domain, [good]);
    const options = { app: app.name, signatures };
    verifySignedCommand(domain, good, options);
    assert.equal(signatures.stats.checked, 0, "the worker's check was found");
    assert.throws(
      () => verifySignedCommand(domain, forgedCopy(good), options),
      (e) => e instanceof CommandRejected && e.code === "bad_signature",
    );
  });

  test("a crashed worker is replaced, and what it owed is checked inline, never skipped", async () => {
    const sealed = await run;
    const workers = pool(1);
    const crashed = workers.threads[0]!;
    const owed = workers.check(sealed.context.domain, sealed.commands.slice(0, PER_BATCH));
    await crashed.terminate();
    // It died with the job unanswered, or answered first: either way the check settles.
    const outcomes = await owed;
    assert.equal(outcomes.length, PER_BATCH);
    await until("a replacement worker", () => (workers.threads[0] !== crashed ? true : undefined));
    // Killed once more in the middle of a whole run: the state is the inline path's all the same.
    const inline = await applyAll(sealed);
    const again = applyAll(sealed, workers);
    await workers.threads[0]!.terminate();
    const after = await again;
    assert.equal(after.digest, inline.digest);
    assert.deepEqual([...after.state.receipts], [...inline.state.receipts]);
    // The replacement answers.
    await until("a second replacement", () => (workers.threads.length === 1 ? true : undefined));
    const [answered] = await workers.check(sealed.context.domain, [sealed.commands[200]!]);
    assert.ok(answered && "digest" in answered);
  });

  test("the built enclave bundle serves as its own signature worker (npm run build first)", async () => {
    const sealed = await run;
    const bundle = (data: { role: string }) => new Worker(DEFAULT_ENCLAVE_BUNDLE, { workerData: data });
    const built = new SignaturePool(1, bundle);
    pools.push(built);
    const good = sealed.commands[200]!;
    const [verified, refused] = await built.check(sealed.context.domain, [good, forgedCopy(good)]);
    assert.ok(verified && "digest" in verified, JSON.stringify(verified));
    assert.deepEqual(refused, { refused: "bad_signature" });
  });

  test("the number of workers is an integer from 0 to the limit, or a clear error", () => {
    assert.equal(signatureWorkersFrom("3"), 3);
    assert.equal(signatureWorkersFrom("0"), 0);
    // Unset: none on 2 cores (the host and the enclave's thread use them), then one per core up to 4.
    assert.deepEqual([2, 3, 4, 6, 32].map(defaultSignatureWorkers), [0, 1, 2, 4, 4]);
    assert.equal(signatureWorkersFrom(undefined), defaultSignatureWorkers());
    for (const bad of ["-1", "two", "1.5", "999"])
      assert.throws(() => signatureWorkersFrom(bad), /ANONIFY_SIGNATURE_WORKERS must be an integer/);
  });
});
