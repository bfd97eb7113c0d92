// What an operator is told when an input is wrong or the chain is not as expected: each command
// fails before it sends anything, with a code and a message naming what to fix.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { RunningService } from "../../src/attestation/service.js";
import { type Anvil, freePort, startAnvil } from "../../src/chain/anvil.js";
import {
  type NetworkProfile,
  readNetworkProfile,
  writeNetworkProfile,
} from "../../src/client/network-profile.js";
import { defaultMeasurement } from "../../src/operator/deployment.js";
import { anvilKey } from "../support/chain.js";
import { startService } from "../support/network.js";
import { anonify } from "./operator-net.js";

/** Runs a command that must fail; returns what it said on standard error. */
async function refusal(...args: string[]): Promise<string> {
  try {
    await anonify(...args);
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    assert.equal(code, 1, stderr);
    return stderr;
  }
  throw new Error(`anonify ${args.join(" ")} succeeded`);
}

/** Runs commands that must fail, all at once; each must say what its pattern expects. */
async function refusals(cases: [string[], RegExp][]): Promise<void> {
  const said = await Promise.all(cases.map(([args]) => refusal(...args)));
  for (const [i, [args, expected]] of cases.entries()) assert.match(said[i]!, expected, args.join(" "));
}

type Deployed = {
  contract: Address;
  chainId: number;
  deployedAtBlock: string;
  policy: { change: string; after: string }[];
};

describe("operators' commands", () => {
  let anvil: Anvil;
  let service: RunningService;
  let dir: string;
  let profile: NetworkProfile;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  let ownerKey: string;
  let profilePath: string;
  const POLICY_SIGNER = privateKeyToAccount(generatePrivateKey()).address;
  const unfunded = () => file(`unfunded-${Math.random()}.key`, generatePrivateKey());

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "anonify-operator-errors-"));
    [anvil, service] = await Promise.all([startAnvil(), startService()]);
    ownerKey = file("owner.key", anvilKey(0));
    profilePath = join(dir, "network.json");
    const { stdout } = await anonify(
      ...["deploy", "--rpc", anvil.rpcUrl, "--key", ownerKey, "--out", profilePath, "--json"],
      ...["--allow-measurement", "default", "--debug-allowed"],
      ...["--policy-signer", POLICY_SIGNER, "--policy-threshold", "1"],
    );
    const deployed = JSON.parse(stdout) as Deployed;
    profile = readNetworkProfile(profilePath);
    // What its clients trust: the build it allowed, and documents its policy key signs.
    assert.deepEqual(profile.trust, {
      measurements: [defaultMeasurement()],
      policyKeys: { threshold: 1, signers: [POLICY_SIGNER] },
    });
    assert.deepEqual(
      [profile.contract.toLowerCase(), profile.chainId, profile.deployedAtBlock.toString(), profile.rpcUrl],
      [deployed.contract.toLowerCase(), 31337, deployed.deployedAtBlock, anvil.rpcUrl],
    );
    assert.deepEqual(
      deployed.policy.map((c) => c.after),
      ["allowed", "allowed"],
      "the default measurement and debug enclaves are allowed",
    );
  });
  after(async () => {
    await Promise.all([anvil?.stop(), service?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("deploy refuses an unfunded key, an RPC that does not answer, a file that is no key, a profile it would overwrite", async () => {
    const rpc = ["--rpc", anvil.rpcUrl];
    const out = ["--out", join(dir, "x.json")];
    const key = unfunded();
    const address = privateKeyToAccount(readFileKey(key)).address;
    // A provider's URL carries its API key in the path: errors show scheme and host only.
    const silentOrigin = `http://127.0.0.1:${await freePort()}`;
    const silent = `${silentOrigin}/v2/SECRET-API-KEY`;
    await refusals([
      [
        ["deploy", ...rpc, "--key", key, ...out],
        new RegExp(`rejected \\(unfunded\\): the deployer's account ${address} has no ETH on chain 31337`),
      ],
      [
        ["deploy", "--rpc", silent, "--key", ownerKey, ...out],
        new RegExp(`rejected \\(rpc_unreachable\\): the chain RPC ${silentOrigin} does not answer`),
      ],
      [
        ["deploy", ...rpc, "--key", file("not-a-key", "hello\n"), ...out],
        /rejected \(bad_key\): the deployer's key file .*not-a-key does not hold a private key/,
      ],
      [
        ["deploy", ...rpc, "--key", join(dir, "missing.key"), ...out],
        /rejected \(bad_key\): .*missing\.key: no such file/,
      ],
      [["deploy", ...rpc, "--key", ownerKey, "--out", profilePath], /rejected \(profile_exists\)/],
      [
        ["deploy", ...rpc, "--key", ownerKey, ...out, "--allow-measurement", "0x12"],
        /rejected \(bad_measurement\)/,
      ],
    ]);
    assert.doesNotMatch(
      await refusal("deploy", "--rpc", silent, "--key", ownerKey, ...out),
      /SECRET-API-KEY/,
      "the API key is in no message",
    );
  });

  test("policy prints each change before → after, sends nothing the chain already holds, and only for the owner", async () => {
    const on = ["--network", profilePath, "--key", ownerKey];
    const signer = service.signer;
    const trusted = await anonify("policy", "trust-signer", signer, ...on);
    assert.match(
      trusted.stdout,
      new RegExp(
        `attestation signer ${signer}: not trusted → trusted \\(transaction 0x[0-9a-f]{64}, block \\d+\\)`,
      ),
    );
    const again = JSON.parse((await anonify("policy", "trust-signer", signer, ...on, "--json")).stdout) as {
      before: string;
      after: string;
      transaction: Hex | null;
    };
    assert.deepEqual([again.before, again.after, again.transaction], ["trusted", "trusted", null]);
    const off = await anonify("policy", "debug", "off", ...on);
    assert.match(off.stdout, /debug and simulated enclaves: allowed → not allowed \(transaction/);
    await anonify("policy", "debug", "on", ...on);
    assert.match(
      await refusal(
        "policy",
        "debug",
        "on",
        "--network",
        profilePath,
        "--key",
        file("stranger.key", anvilKey(5)),
      ),
      /rejected \(not_owner\): 0x[0-9a-fA-F]{40} is not the owner of contract/,
    );
    assert.match(await refusal("policy", "debug", "maybe", ...on), /rejected \(bad_switch\)/);
    assert.match(
      await refusal("policy", "revoke", privateKeyToAccount(generatePrivateKey()).address, ...on),
      /rejected \(refused\): the contract refused to change enclave .*: NotRegistered/,
    );
  });

  test("ownership moves when the account it is offered to accepts; the old owner then changes nothing", async () => {
    const on = ["--network", profilePath];
    const [ownerFile, nextKey, strangerKey] = [
      ownerKey,
      file("next-owner.key", anvilKey(6)),
      file("not-offered.key", anvilKey(5)),
    ];
    const next = privateKeyToAccount(anvilKey(6)).address;
    const offered = await anonify("policy", "transfer-ownership", next, ...on, "--key", ownerFile);
    assert.match(
      offered.stdout,
      new RegExp(`ownership of the contract: offered to no one → offered to ${next} \\(transaction 0x`),
    );
    assert.match(
      await refusal("policy", "accept-ownership", ...on, "--key", strangerKey),
      new RegExp(
        `rejected \\(not_offered\\): ownership of contract 0x[0-9a-fA-F]{40} is not offered to 0x[0-9a-fA-F]{40} \\(offered to ${next}\\)`,
      ),
    );
    const accepted = await anonify("policy", "accept-ownership", ...on, "--key", nextKey);
    assert.match(
      accepted.stdout,
      new RegExp(`ownership of the contract: owned by 0x[0-9a-fA-F]{40} → owned by ${next}`),
    );
    assert.match(
      await refusal("policy", "debug", "off", ...on, "--key", ownerFile),
      /rejected \(not_owner\)/,
    );
    // Back to the file's owner, the same two steps.
    await anonify(
      "policy",
      "transfer-ownership",
      privateKeyToAccount(anvilKey(0)).address,
      ...on,
      "--key",
      nextKey,
    );
    await anonify("policy", "accept-ownership", ...on, "--key", ownerFile);
  });

  test("node start refuses an unfunded account, an address without a contract, a profile for another chain, an untrusted attestation service", async () => {
    const start = (...args: string[]) => [
      ...["node", "start", "--data-dir", join(dir, "node"), "--attestation", service.url],
      ...args,
    ];
    const key = unfunded();
    const address = privateKeyToAccount(readFileKey(key)).address;
    const nodeKey = file("node.key", anvilKey(1));
    const nowhere = privateKeyToAccount(generatePrivateKey()).address;
    const otherChain = join(dir, "other-chain.json");
    writeNetworkProfile(otherChain, { ...profile, chainId: 1 });
    // A service whose key the contract was never told to trust: registration could only fail.
    const stranger = await startService();
    const [down1, down2] = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    try {
      await refusals([
        [
          // Several RPC endpoints of the profile's chain (the node fails over between them): none answers.
          start("--network", profilePath, "--key", nodeKey, "--rpc", down1, "--rpc", down2),
          new RegExp(`rejected \\(rpc_unreachable\\): the chain RPC ${down1}, ${down2} does not answer`),
        ],
        [
          start("--network", profilePath, "--key", key),
          new RegExp(`rejected \\(unfunded\\): the node's account ${address} has no ETH on chain 31337`),
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--rotate-every-seconds", "0"),
          /rejected \(bad_flag\): --rotate-every-seconds must be an integer from 1 to/,
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--public-rpc", "ftp://rpc.example"),
          /rejected \(bad_flag\): --public-rpc must be an http\(s\) URL/,
        ],
        [
          // Public on chain: credentials in it would be published to everyone.
          start("--network", profilePath, "--key", nodeKey, "--public-url", "https://op:pw@node.example/"),
          /rejected \(bad_flag\): --public-url must not hold credentials \(it is public on chain\)$/m,
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--public-url", "https://node.example/api?x=1"),
          /rejected \(bad_flag\): --public-url must not have a query/,
        ],
        [
          start("--rpc", anvil.rpcUrl, "--contract", nowhere, "--key", nodeKey),
          new RegExp(`rejected \\(no_contract\\): no contract at ${nowhere} on chain 31337`),
        ],
        [
          start("--network", otherChain, "--key", nodeKey),
          /rejected \(wrong_chain\): network profile .*other-chain\.json is for chain 1, but http:\/\/127\.0\.0\.1:\d+ serves chain 31337/,
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--attestation", stranger.url),
          new RegExp(
            `rejected \\(signer_not_trusted\\): the attestation service .* signs as ${stranger.signer}`,
          ),
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--port", "70000"),
          /rejected \(bad_flag\): --port must be an integer from 0 to 65535/,
        ],
        [
          start("--network", profilePath, "--key", nodeKey, "--max-batch-commands", "0"),
          /rejected \(bad_flag\): --max-batch-commands must be an integer from 1 to 1024, not "0"/,
        ],
      ]);
    } finally {
      await stranger.close();
    }
    const json = await anonify(...start("--network", profilePath, "--key", key, "--json")).catch(
      (e: { stdout: string }) => e,
    );
    const refused = JSON.parse(json.stdout) as { ok: boolean; code: string };
    assert.deepEqual(
      [refused.ok, refused.code],
      [false, "unfunded"],
      "--json reports a refusal as a JSON line",
    );
  });
});

function readFileKey(path: string): Hex {
  return readFileSync(path, "utf8").trim() as Hex;
}
