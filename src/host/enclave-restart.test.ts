// A node bringing its enclave back after the process exited (or to roll back): the new process must
// be the enclave the node registered. On a platform that cannot seal (TDX, SEV-SNP) it never is:
// the node stops its enclave and says how to rejoin, once, instead of serving as the registered
// enclave with another identity, or respawning one process after another, or replacing the kept
// identity. On a platform that seals, the same identity comes back.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { vectorsSkip } from "../attestation/dcap/test-vectors.js";
import type { CallName } from "../boundary/calls.js";
import type { Enclave } from "../enclave/enclave.js";
import { EmulatedTsm, enclaveOnHardware, tdxQuoteFor } from "../enclave/platforms/test-kernel.js";
import { TsmPlatform } from "../enclave/platforms/tsm-platform.js";
import { DOMAIN, enclaveOn, send } from "../enclave/test-harness.js";
import type { EnclaveCalls } from "./enclave-process.js";
import { freshEnclave, untilRestarted } from "./enclave-restart.js";
import { createLogger } from "./log.js";
import { initEnclave, SEALED_IDENTITY_FILE } from "./registration.js";

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const tempDir = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `anonify-restart-${name}-`));
  dirs.push(dir);
  return dir;
};

/** The supervisor's part the restart uses, over in-process enclaves made by `next`. */
async function supervised(next: () => Promise<Enclave>) {
  let current = await next();
  const state = { replaced: 0, stopped: false };
  const calls = {
    call: (name: CallName, params?: unknown) => send(current, name, params ?? {}),
  } as unknown as EnclaveCalls;
  const handle = {
    replace: async () => {
      state.replaced += 1;
      current = await next();
    },
    restarting: calls,
    stop: async () => {
      state.stopped = true;
    },
  };
  return { calls, handle, state };
}

describe("bringing a node's enclave back", () => {
  test("on TDX (no sealing): stopped and said once, the kept identity untouched, no respawn loop", {
    skip: vectorsSkip,
  }, async () => {
    const hostDir = await tempDir("tdx");
    const kernel = await EmulatedTsm.boot({
      root: await tempDir("kernel"),
      provider: "tdx_guest",
      answer: tdxQuoteFor,
    });
    const onTdx = () =>
      enclaveOnHardware(
        new TsmPlatform({ platform: "tdx", reportDir: kernel.reportDir, files: kernel }),
        "tdx",
      );
    const { calls, handle, state } = await supervised(onTdx);
    const identity = { hostDir, ...DOMAIN };
    const registered = await initEnclave(calls, identity);
    const kept = await readFile(join(hostDir, SEALED_IDENTITY_FILE), "utf8");

    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    let attempts = 0;
    const restored = await untilRestarted(
      () => {
        attempts += 1;
        return freshEnclave(handle, identity);
      },
      log,
      new AbortController().signal,
    );
    assert.equal(restored, undefined, "nothing serves as the registered enclave");
    assert.equal(attempts, 1, "no later attempt could bring the identity back: none is made");
    assert.equal(state.replaced, 1);
    assert.ok(state.stopped, "the new process, another identity, is stopped");
    assert.equal(await readFile(join(hostDir, SEALED_IDENTITY_FILE), "utf8"), kept);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /platform-cannot-seal/);
    assert.match(
      lines[0]!,
      /restart the node \(same --data-dir\) and its enclave joins the group anew, with a snapshot/,
    );
    assert.ok(!lines[0]!.includes(registered.sealedIdentity.slice(2, 20)), "no sealed bytes in the log");
  });

  test("on a platform that seals (sim): the registered identity comes back", async () => {
    const hostDir = await tempDir("sim");
    const platformDir = await tempDir("sim-platform");
    const { calls, handle, state } = await supervised(async () => enclaveOn(platformDir));
    const identity = { hostDir, ...DOMAIN };
    const registered = await initEnclave(calls, identity);
    const fresh = await freshEnclave(handle, identity);
    const again = (await fresh.call("status")).address;
    assert.equal(again, registered.address);
    assert.equal(state.stopped, false);
  });
});
