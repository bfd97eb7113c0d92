import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { startDevnet, stopDevnet } from "../support/devnet-process.js";
import { type GroupView, waitForGroupViews } from "../support/group.js";
import { until } from "../support/wait.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");

type DevnetNodeInfo = { url: string; enclave: string; adminToken: string };
type DevnetInfo = {
  contract: string;
  chainRpc: string;
  chainId: number;
  networkProfile: string;
  wallet: string;
  nodes: DevnetNodeInfo[];
  resumed: boolean;
};
type Status = GroupView & { epoch: string | null; epochKeyFingerprint: string | null };

/** Two nodes, as `npm start` with `--json` runs them from the checkout. */
const twoNodes = (dataDir: string) =>
  startDevnet<DevnetInfo>([process.execPath, CLI, "devnet", "--nodes", "2", "--data-dir", dataDir, "--json"]);

async function groupStatus(url: string): Promise<Status> {
  const { stdout } = await run(process.execPath, [CLI, "group", "status", "--node", url, "--json"]);
  return JSON.parse(stdout) as Status;
}

describe("anonify devnet (what npm start runs)", () => {
  // A user's directory where `npm start` ran: the devnet's data (and its network profile) in
  // `.anonify`, where the CLI run from this directory finds the profile by default.
  const home = mkdtempSync(join(tmpdir(), "anonify-devnet-"));
  const dataDir = join(home, ".anonify");
  after(() => rmSync(home, { recursive: true, force: true }));
  /** The CLI as the README runs it: from the directory where `npm start` ran. */
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: home });
  const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;

  test("starts nodes whose enclaves form a group; the CLI shows and rotates it; a restart resumes", async () => {
    const first = await twoNodes(dataDir);
    let formed: Status;
    try {
      assert.equal(first.info.nodes.length, 2);
      assert.equal(first.info.resumed, false);
      assert.equal(first.info.networkProfile, join(dataDir, "network.json"));
      // The wallet it prints is a page the first node serves.
      const page = await fetch(first.info.wallet);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      // ... and the network hint it starts from names the devnet's chain RPC (the node publishes it).
      const hint = (await (await fetch(new URL("/v1/network", first.info.wallet))).json()) as {
        rpcUrl?: string;
      };
      assert.equal(hint.rpcUrl, first.info.chainRpc);
      const [a, b] = first.info.nodes as [DevnetNodeInfo, DevnetNodeInfo];
      // What the CLI shows of each node's group.
      const views = () => Promise.all([groupStatus(a.url), groupStatus(b.url)]);
      const before = await waitForGroupViews(views);
      // Rotation is an admin call: another node's token is refused, and nothing rotates.
      await assert.rejects(
        run(process.execPath, [CLI, "group", "rotate", "--node", b.url, "--admin-token", a.adminToken]),
        (e: unknown) => /admin_token_wrong/.test((e as { stderr: string }).stderr),
      );
      // Without --admin-token, the CLI finds the node's token where the devnet lists its nodes.
      await run(process.execPath, [CLI, "group", "rotate", "--node", b.url, "--data-dir", dataDir]);
      formed = await waitForGroupViews(views, {
        what: "the rotation",
        where: (s) => s.epoch !== before.epoch,
      });
      // The README's steps for a newcomer: make two wallets, construct the token, transfer, query.
      // The chain and contract come from `.anonify/network.json`, found from the current directory.
      const aliceKey = join(home, "alice.key");
      const bobKey = join(home, "bob.key");
      await cli("wallet", "new", "--out", aliceKey);
      const made = JSON.parse((await cli("wallet", "new", "--out", bobKey, "--json")).stdout) as {
        address: string;
        keyFile: string;
      };
      assert.equal(made.keyFile, bobKey);
      const bob = made.address;
      const bobKeyText = readFileSync(bobKey, "utf8");
      const again = await cli("wallet", "new", "--out", bobKey, "--json").catch((e: { stdout: string }) => e);
      assert.deepEqual(JSON.parse(again.stdout), {
        ok: false,
        code: "exists",
        reason: `${bobKey} exists; not overwriting it`,
      });
      assert.equal(readFileSync(bobKey, "utf8"), bobKeyText, "the key Bob had stays");
      const user = (key: string, ...args: string[]) => cli(...args, "--node", a.url, "--key", key);
      await until("the token to be constructed", async () => {
        try {
          await user(aliceKey, "call", "construct", '{"totalSupply": 1000}');
          return true;
        } catch {
          return undefined; // the group may still be rotating
        }
      });
      // A production policy refuses the devnet's simulated enclaves before sending anything.
      await assert.rejects(
        user(aliceKey, "call", "transfer", JSON.stringify({ to: bob, amount: 1 }), "--policy", "production"),
        (e: unknown) => /rejected \(enclave_not_allowed\): .*simulated TEE/.test(stderrOf(e)),
      );
      const sent = await user(aliceKey, "call", "transfer", JSON.stringify({ to: bob, amount: 250 }));
      assert.match(sent.stdout, /^applied at sequence \d+: 0x[0-9a-f]{64}\n$/);
      assert.match(sent.stderr, new RegExp(`served by enclave ${a.enclave} \\(simulated TEE\\)`));
      assert.match(sent.stderr, /warning: .*simulated TEE platform: it protects nothing/);
      // A measurement the user pins: the verdict line says the enclave's was checked against it.
      const { measurement } = (await (await fetch(new URL("/v1/status", a.url))).json()) as {
        measurement: string;
      };
      const pinned = await user(aliceKey, "query", "balanceOf", "{}", "--measurement", measurement);
      assert.match(pinned.stderr, /\(policy development, its measurement one you pinned\)/);
      // Another directory, the profile named: Bob asks node b, which says nothing about it.
      const bobView = await run(process.execPath, [
        CLI,
        "query",
        "balanceOf",
        "--node",
        b.url,
        "--key",
        bobKey,
        "--network",
        first.info.networkProfile,
        "--json",
      ]);
      const answer = JSON.parse(bobView.stdout) as {
        result: string;
        servedBy: { address: string; platform: string; simulated: boolean };
        warnings: string[];
        at: { seq: string; head: string; block: string; digest: string; behind: string; claims: number };
      };
      assert.equal(answer.result, "250");
      // The point it reflects, as the CLI checked it on chain: an event of the sequence, its state digest.
      assert.match(answer.at.head, /^0x[0-9a-f]{64}$/);
      assert.match(answer.at.digest, /^0x[0-9a-f]{64}$/);
      assert.ok(BigInt(answer.at.seq) > 0n && typeof answer.at.claims === "number");
      assert.deepEqual(
        [answer.servedBy.address, answer.servedBy.platform, answer.servedBy.simulated],
        [b.enclave, "sim", true],
      );
      assert.equal(answer.warnings.length, 1);
      assert.doesNotMatch(bobView.stderr, /served by|warning/, "--json keeps them in its fields");
      await assert.rejects(
        user(bobKey, "call", "transfer", JSON.stringify({ to: bob, amount: 10_000 })),
        (e: unknown) => /exceeds balance/.test(stderrOf(e)),
      );
      // A contract other than the one the node serves: the node is refused, whatever it says.
      const otherContract = "0x000000000000000000000000000000000000dEaD";
      await assert.rejects(user(bobKey, "query", "balanceOf", "--contract", otherContract), (e: unknown) =>
        /rejected \(wrong_network\)/.test(stderrOf(e)),
      );
      await assert.rejects(cli("status", "--node", a.url, "--contract", otherContract), (e: unknown) =>
        /rejected \(wrong_network\)/.test(stderrOf(e)),
      );
      const status = JSON.parse((await cli("status", "--node", a.url, "--json")).stdout) as {
        appliedSequence: string;
      };
      assert.ok(BigInt(status.appliedSequence) >= 2n);

      const res = await fetch(new URL("/docs/openapi.json", a.url));
      const doc = (await res.json()) as { paths: Record<string, unknown> };
      for (const path of [
        "/v1/health",
        "/v1/status",
        "/v1/enclave",
        "/v1/commands",
        "/v1/commands/:id",
        "/v1/queries",
      ]) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
    } finally {
      assert.equal(await stopDevnet(first.child), 0, "Ctrl-C stops everything cleanly");
    }

    const second = await twoNodes(dataDir);
    try {
      assert.equal(second.info.resumed, true);
      assert.equal(second.info.contract, first.info.contract);
      assert.deepEqual(
        second.info.nodes.map((n) => n.enclave),
        first.info.nodes.map((n) => n.enclave),
        "the enclaves keep their identities",
      );
      const resumed = await groupStatus(second.info.nodes[0]!.url);
      assert.equal(resumed.epoch, formed.epoch);
      assert.equal(resumed.epochKeyFingerprint, formed.epochKeyFingerprint);
      // The same network, with the same balances; the profile names the chain's new RPC port.
      const again = await cli(
        "query",
        "balanceOf",
        "--node",
        second.info.nodes[1]!.url,
        "--key",
        join(home, "bob.key"),
      );
      assert.equal(again.stdout.trim(), '"250"');
    } finally {
      assert.equal(await stopDevnet(second.child), 0);
    }
  });
});
