// The handler sandbox in a real enclave process: the careless fixture app (test/fixtures/apps/careless)
// built as its own bundle, one enclave a group of one, its commands ordered on the in-process test
// chain. A handler that reads the clock, starts a timer or calls a `Math.random` kept from load time
// fails by name in its receipt, and the enclave goes on applying the next command.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bytesToHex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { EnclaveCallError } from "../../src/boundary/frames.js";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG, REPO_ROOT } from "../../src/build/enclave-bundle.js";
import { openReceipt, sealCommand, signCommand } from "../../src/client/command.js";
import type { Enclave } from "../../src/enclave/enclave.js";
import { TestChain } from "../../src/enclave/test-chain.js";
import { call, DOMAIN } from "../../src/enclave/test-harness.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";

const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");

/** An enclave process behind the in-process enclave's interface, so the test chain drives it. */
const viaProcess = (process: EnclaveProcess): Enclave => ({
  async handle({ id, call: name, args }) {
    try {
      return { id, ok: true, result: await process.callUnchecked(name, args) };
    } catch (error) {
      if (!(error instanceof EnclaveCallError)) throw error;
      return { id, ok: false, error: { code: error.code, message: error.message } };
    }
  },
});

describe("the handler sandbox in an enclave process", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-app-sandbox-"));
  let enclave: EnclaveProcess;
  before(async () => {
    const built = await buildEnclaveBundle({
      outFile: join(dir, "careless.mjs"),
      config: { ...DEFAULT_ENCLAVE_CONFIG, app: "careless" },
      appsDir: FIXTURE_APPS,
    });
    enclave = EnclaveProcess.start({ dataDir: join(dir, "enclave"), bundle: built.path });
  });
  after(async () => {
    await enclave?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails the clock, a timer and a Math.random kept from load time by name, and applies the honest command", async () => {
    const chain = new TestChain();
    const member = await chain.register(viaProcess(enclave));
    await chain.feed(member.enclave);
    assert.equal(await chain.commit(member), false, "genesis: a group of one");
    const user = privateKeyToAccount(generatePrivateKey());
    const names = ["clock", "timer", "keptRandom", "honest"];
    const sent = [];
    for (const [nonce, command] of names.entries()) {
      const signed = await signCommand(user, DOMAIN, {
        app: "careless",
        command,
        params: {},
        nonce: BigInt(nonce),
      });
      const envelope = bytesToHex(await sealCommand(signed.signed, member.hpkePublicKey));
      const { id } = await call(member.enclave, "submitCommand", { envelope });
      sent.push({ id, key: signed.responseKey });
    }
    assert.equal(await chain.batch(member), names.length);
    await chain.feed(member.enclave);
    const reasons = [];
    for (const { id, key } of sent) {
      const { receipt } = await call(member.enclave, "commandStatus", { id });
      reasons.push((await openReceipt(key, hexToBytes(receipt!), { digest: id })).reason);
    }
    assert.deepEqual(reasons, [
      "app careless, command clock: Date.now is not available in a handler: use ctx.timestamp",
      "app careless, command timer: setTimeout is not available in a handler: handlers are synchronous: nothing may run after they return",
      "app careless, command keptRandom: Math.random is not available in a handler: use ctx.random()",
      undefined,
    ]);
  });
});
