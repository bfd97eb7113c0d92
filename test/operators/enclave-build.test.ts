// A deployment's own trust roots, built into the measured enclave: `anonify enclave build` pins the
// profile and the deployment's policy keys, nodes run that bundle (`node start --enclave`), and only
// documents signed by those keys move their enclaves. The development keys, public on purpose and
// pinned by the default build, move nothing here; a policy signed by k of the deployment's keys
// revokes a node, which its group then removes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { anvilKey } from "../support/chain.js";
import { until } from "../support/wait.js";
import { anonify, nodeStatus, type OperatorNet, startOperatorNet } from "./operator-net.js";

const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;

describe("anonify enclave build: a deployment's own policy keys in the measured build", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-enclave-build-"));
  const policyKeys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const signers = policyKeys.map((k) => privateKeyToAccount(k).address);
  let bundle: { path: string; measurement: Hex };
  let net: OperatorNet | undefined;
  after(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    const built = await anonify(
      ...["enclave", "build", "--out", join(dir, "enclave.mjs"), "--json"],
      ...signers.flatMap((s) => ["--policy-signer", s]),
      ...["--policy-threshold", "2"],
    );
    bundle = JSON.parse(built.stdout) as { path: string; measurement: Hex };
  });

  test("bad builds are refused with what to fix", async () => {
    const out = join(dir, "refused.mjs");
    const cases: [string[], RegExp][] = [
      [
        ["--profile", "production"],
        /rejected \(no_policy_keys\): a production build pins the deployment's own policy keys/,
      ],
      [["--profile", "staging"], /rejected \(bad_profile\)/],
      [["--policy-signer", signers[0]!, "--policy-threshold", "2"], /from 1 to the 1 distinct signers/],
      [["--policy-signer", "nobody", "--policy-threshold", "1"], /rejected \(bad_address\)/],
      [["--policy-threshold", "1"], /--policy-threshold needs --policy-signer/],
    ];
    for (const [args, expected] of cases) {
      await assert.rejects(
        anonify("enclave", "build", "--out", out, ...args),
        (e) => expected.test(stderrOf(e)),
        args.join(" "),
      );
    }
    const production = await anonify(
      ...["enclave", "build", "--out", join(dir, "production.mjs"), "--profile", "production"],
      ...["--policy-signer", signers[0]!, "--policy-threshold", "1"],
    );
    assert.match(production.stdout, /profile {7}production/);
    assert.match(production.stdout, new RegExp(`policy keys {3}1 of ${signers[0]}`));
  });

  test("nodes run the bundle; the public development keys move nothing, k of the deployment's keys revoke", async () => {
    const defaultMeasurement = (await anonify("enclave", "measure")).stdout.trim();
    assert.notEqual(
      bundle.measurement.slice(2),
      defaultMeasurement,
      "pinned keys are part of the measurement",
    );
    assert.notEqual(bundle.path, DEFAULT_ENCLAVE_BUNDLE);
    net = await startOperatorNet(2, { enclave: bundle });
    const [first, second] = net.nodes as [OperatorNet["nodes"][0], OperatorNet["nodes"][0]];
    const status = await nodeStatus(first.url);
    assert.equal(status.measurement, bundle.measurement);
    const revoked = (await nodeStatus(second.url)).enclave;

    const gas = join(dir, "gas.key");
    writeFileSync(gas, anvilKey(7), { mode: 0o600 });
    const keyFile = (key: Hex, name: string) => {
      const path = join(dir, name);
      writeFileSync(path, key, { mode: 0o600 });
      return path;
    };
    const publishRevocation = async (version: string, keys: readonly Hex[]) => {
      const doc = join(dir, `policy-${version}.json`);
      await anonify(
        "policy",
        "document",
        "--network",
        net!.profile,
        "--version",
        version,
        "--out",
        doc,
        "--revoke",
        revoked,
      );
      for (const [i, key] of keys.entries())
        await anonify("policy", "sign", doc, "--key", keyFile(key, `signer-${version}-${i}.key`));
      await anonify("policy", "publish", doc, "--network", net!.profile, "--key", gas);
    };

    // Signed by all three development keys: ignored, no signer of theirs is pinned here.
    await publishRevocation("1", DEV_POLICY_PRIVATE_KEYS);
    const ignored = await until("the development keys' document judged", async () => {
      const s = await nodeStatus(first.url);
      return s.lastPolicyEvent ? s : undefined;
    });
    assert.match(ignored.lastPolicyEvent!.outcome, /^ignored: .*signed by 0 distinct/);
    assert.equal(ignored.policyVersion, "0");
    assert.equal(ignored.members.length, 2);

    // Signed by one of the deployment's keys: below its threshold of 2.
    await publishRevocation("2", [policyKeys[0]!]);
    await until(
      "one key's document judged",
      async () =>
        (await nodeStatus(first.url)).lastPolicyEvent?.outcome.match(/1 signature\(s\), 2 needed/) ??
        undefined,
    );
    assert.equal((await nodeStatus(first.url)).members.length, 2);

    // Two of them: applied, and the group removes the revoked node.
    await publishRevocation("3", [policyKeys[1]!, policyKeys[2]!]);
    const applied = await until("the revocation applied and the node removed", async () => {
      const s = await nodeStatus(first.url);
      return s.policyVersion === "3" && s.members.length === 1 ? s : undefined;
    });
    assert.equal(applied.lastPolicyEvent?.outcome, "applied");
    assert.deepEqual(
      applied.members.map((m) => m.toLowerCase()),
      [status.enclave.toLowerCase()],
    );
  });
});
