import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { EnclaveIdentity, SealPolicy, TeePlatform } from "./platform.js";
import {
  SEAL_HEADER_BYTES,
  SEAL_OFFSET_IDENTITY,
  SEAL_OFFSET_NONCE,
  SEAL_OFFSET_POLICY,
  SEAL_OFFSET_VERSION,
  SealingError,
  type SealingFailure,
  seal,
  unseal,
} from "./sealing.js";
import { SIM_SECRET_FILE, SimPlatform, SimPlatformError } from "./sim-platform.js";

const posixOnly = { skip: process.platform === "win32" ? "POSIX file modes only" : false };
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "anonify-sealing-"));
  dirs.push(dir);
  return dir;
}

const fill = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);
const enclaveA: EnclaveIdentity = { measurement: fill(0xa1), signerMeasurement: fill(0x51) };
const enclaveA2: EnclaveIdentity = { measurement: fill(0xa2), signerMeasurement: fill(0x51) }; // upgrade
const enclaveB: EnclaveIdentity = { measurement: fill(0xa1), signerMeasurement: fill(0x52) }; // other signer
const SECRET_TEXT = "top secret group state 0123456789";
const plaintext = new TextEncoder().encode(SECRET_TEXT);

async function refusal(promise: Promise<unknown>, code?: SealingFailure): Promise<SealingError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SealingError, `expected SealingError, got ${String(error)}`);
    if (code) assert.equal(error.code, code, error.reason);
    assert.ok(!error.message.includes(SECRET_TEXT), "refusal leaks plaintext");
    return error;
  }
  assert.fail("expected a SealingError");
}

describe("seal / unseal", async () => {
  const platform = new SimPlatform(await tempDir());

  for (const policy of ["measurement", "signer"] as const) {
    test(`round trip under the ${policy} policy`, async () => {
      const blob = await seal(platform, enclaveA, plaintext, { policy, label: "group-state" });
      assert.equal(blob.length, SEAL_HEADER_BYTES + plaintext.length + 16);
      const bound = policy === "measurement" ? enclaveA.measurement : enclaveA.signerMeasurement;
      assert.deepEqual(blob.subarray(SEAL_OFFSET_IDENTITY, SEAL_OFFSET_NONCE), bound);
      assert.deepEqual(await unseal(platform, enclaveA, blob, { label: "group-state" }), plaintext);
    });
  }

  test("the default policy is measurement", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "x" });
    assert.equal(blob[SEAL_OFFSET_POLICY], 1);
  });

  test("empty plaintext round-trips; two seals of the same data differ (fresh nonce)", async () => {
    const empty = await seal(platform, enclaveA, new Uint8Array(0), { label: "x" });
    assert.deepEqual(await unseal(platform, enclaveA, empty, { label: "x" }), new Uint8Array(0));
    const one = await seal(platform, enclaveA, plaintext, { label: "x" });
    const two = await seal(platform, enclaveA, plaintext, { label: "x" });
    assert.notDeepEqual(one, two);
  });

  test("measurement policy: another measurement is refused", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "identity" });
    const error = await refusal(
      unseal(platform, enclaveA2, blob, { label: "identity" }),
      "other-measurement",
    );
    assert.equal(error.reason, "sealed by another enclave measurement");
  });

  test("signer policy: same signer, other measurement opens (upgrade)", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { policy: "signer", label: "identity" });
    assert.deepEqual(await unseal(platform, enclaveA2, blob, { label: "identity" }), plaintext);
  });

  test("signer policy: another signer is refused", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { policy: "signer", label: "identity" });
    await refusal(unseal(platform, enclaveB, blob, { label: "identity" }), "other-signer");
  });

  test("a blob for one label does not open under another", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "identity" });
    await refusal(unseal(platform, enclaveA, blob, { label: "group-state" }), "tampered");
  });

  test("an empty label is refused", async () => {
    await refusal(seal(platform, enclaveA, plaintext, { label: "" }), "invalid-label");
  });

  for (const policy of ["measurement", "signer"] as const satisfies SealPolicy[]) {
    test(`flipping any byte is refused (${policy} policy)`, async () => {
      const blob = await seal(platform, enclaveA, plaintext, { policy, label: "l" });
      for (let i = 0; i < blob.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const bad = blob.slice();
          bad[i]! ^= mask;
          const expected: SealingFailure =
            i < SEAL_OFFSET_VERSION
              ? "bad-magic"
              : i === SEAL_OFFSET_VERSION
                ? "unknown-version"
                : i === SEAL_OFFSET_POLICY
                  ? "unknown-policy"
                  : i < SEAL_OFFSET_NONCE
                    ? policy === "measurement"
                      ? "other-measurement"
                      : "other-signer"
                    : "tampered";
          await refusal(unseal(platform, enclaveA, bad, { label: "l" }), expected);
        }
      }
    });
  }

  test("switching the policy byte to the other valid policy is refused", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "l" });
    const bad = blob.slice();
    bad[SEAL_OFFSET_POLICY] = 2;
    bad.set(enclaveA.signerMeasurement, SEAL_OFFSET_IDENTITY);
    await refusal(unseal(platform, enclaveA, bad, { label: "l" }), "tampered");
  });

  test("every truncation is refused", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "l" });
    for (let n = 0; n < blob.length; n++) {
      await refusal(unseal(platform, enclaveA, blob.subarray(0, n), { label: "l" }));
    }
    await refusal(unseal(platform, enclaveA, blob.subarray(0, 10), { label: "l" }), "truncated");
  });

  test("another machine's platform secret cannot open the blob", async () => {
    const blob = await seal(platform, enclaveA, plaintext, { label: "l" });
    const elsewhere = new SimPlatform(await tempDir());
    await refusal(unseal(elsewhere, enclaveA, blob, { label: "l" }), "tampered");
  });

  test("keys handed out by the platform are wiped after use", async () => {
    const handedOut: Uint8Array[] = [];
    const spy: TeePlatform = {
      name: "sim",
      sealingKey: async (policy, identity) => {
        const key = await platform.sealingKey(policy, identity);
        handedOut.push(key);
        return key;
      },
      quote: (reportData, identity) => platform.quote(reportData, identity),
    };
    const blob = await seal(spy, enclaveA, plaintext, { label: "l" });
    await unseal(spy, enclaveA, blob, { label: "l" });
    await refusal(unseal(spy, enclaveA, blob, { label: "other" }));
    assert.equal(handedOut.length, 3);
    for (const key of handedOut) assert.ok(key.every((b) => b === 0));
  });
});

describe("SimPlatform sealing secret", () => {
  test("is created on first use with mode 0600 and persists across instances", posixOnly, async () => {
    const dir = join(await tempDir(), "nested", "data");
    const blob = await seal(new SimPlatform(dir), enclaveA, plaintext, { label: "l" });
    const info = await stat(join(dir, SIM_SECRET_FILE));
    assert.equal(info.mode & 0o777, 0o600);
    assert.equal(info.size, 32);
    assert.deepEqual(await unseal(new SimPlatform(dir), enclaveA, blob, { label: "l" }), plaintext);
  });

  test("concurrent first use by two instances agrees on one secret", async () => {
    const dir = await tempDir();
    const [one, two] = await Promise.all([
      new SimPlatform(dir).sealingKey("measurement", enclaveA),
      new SimPlatform(dir).sealingKey("measurement", enclaveA),
    ]);
    assert.deepEqual(one, two);
  });

  test("keys differ by policy and by identity", async () => {
    const platform = new SimPlatform(await tempDir());
    const byMeasurement = await platform.sealingKey("measurement", enclaveA);
    assert.equal(byMeasurement.length, 32);
    assert.notDeepEqual(byMeasurement, await platform.sealingKey("signer", enclaveA));
    assert.notDeepEqual(byMeasurement, await platform.sealingKey("measurement", enclaveA2));
    assert.deepEqual(
      await platform.sealingKey("signer", enclaveA),
      await platform.sealingKey("signer", enclaveA2),
    );
  });

  for (const mode of [0o644, 0o640, 0o604, 0o700]) {
    test(`an existing secret file with mode 0${mode.toString(8)} is refused`, posixOnly, async () => {
      const dir = await tempDir();
      await new SimPlatform(dir).sealingKey("measurement", enclaveA);
      await chmod(join(dir, SIM_SECRET_FILE), mode);
      await assert.rejects(
        new SimPlatform(dir).sealingKey("measurement", enclaveA),
        (error: unknown) =>
          error instanceof SimPlatformError &&
          error.reason.includes(`mode 0${mode.toString(8)}, wider than 0600`),
      );
    });
  }

  test("a read-only (0400) secret file is accepted", posixOnly, async () => {
    const dir = await tempDir();
    const key = await new SimPlatform(dir).sealingKey("measurement", enclaveA);
    await chmod(join(dir, SIM_SECRET_FILE), 0o400);
    assert.deepEqual(await new SimPlatform(dir).sealingKey("measurement", enclaveA), key);
  });

  test("a secret file of the wrong size is refused", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, SIM_SECRET_FILE), new Uint8Array(31), { mode: 0o600 });
    await assert.rejects(
      new SimPlatform(dir).sealingKey("measurement", enclaveA),
      (error: unknown) => error instanceof SimPlatformError && /holds 31 bytes/.test(error.reason),
    );
  });

  test("identities of the wrong size are a caller error", async () => {
    const platform = new SimPlatform(await tempDir());
    const short = { measurement: new Uint8Array(31), signerMeasurement: fill(1) };
    await assert.rejects(platform.sealingKey("measurement", short), TypeError);
    await assert.rejects(seal(platform, short, plaintext, { label: "l" }), TypeError);
  });
});
