import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { type GroupView, waitForGroupViews } from "../support/group.js";
import { until } from "../support/wait.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");

type DevnetNodeInfo = { url: string; enclave: string; adminToken: string };
type DevnetInfo = { contract: string; nodes: DevnetNodeInfo[]; resumed: boolean };
type Status = GroupView & { epoch: string | null; epochKeyFingerprint: string | null };

function startDevnet(dataDir: string): Promise<{ child: ChildProcess; info: DevnetInfo }> {
  const child = spawn(process.execPath, [CLI, "devnet", "--nodes", "2", "--data-dir", dataDir, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, info: JSON.parse(line) as DevnetInfo });
    });
    child.once("exit", (code) => reject(new Error(`devnet exited early (${code})`)));
  });
}

async function stopDevnet(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  return exited;
}

async function groupStatus(url: string): Promise<Status> {
  const { stdout } = await run(process.execPath, [CLI, "group", "status", "--node", url, "--json"]);
  return JSON.parse(stdout) as Status;
}

describe("anonify devnet (what npm start runs)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "anonify-devnet-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("starts nodes whose enclaves form a group; the CLI shows and rotates it; a restart resumes", async () => {
    const first = await startDevnet(dataDir);
    let formed: Status;
    try {
      assert.equal(first.info.nodes.length, 2);
      assert.equal(first.info.resumed, false);
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
      const aliceKey = join(dataDir, "alice.key");
      const bobKey = join(dataDir, "bob.key");
      await run(process.execPath, [CLI, "wallet", "new", "--out", aliceKey]);
      const bob = (await run(process.execPath, [CLI, "wallet", "new", "--out", bobKey])).stdout.trim();
      const user = (key: string, ...args: string[]) =>
        run(process.execPath, [CLI, ...args, "--node", a.url, "--key", key]);
      await until("the token to be constructed", async () => {
        try {
          await user(aliceKey, "call", "construct", '{"totalSupply": 1000}');
          return true;
        } catch {
          return undefined; // the group may still be rotating
        }
      });
      const sent = await user(aliceKey, "call", "transfer", JSON.stringify({ to: bob, amount: 250 }));
      assert.match(sent.stdout, /applied at sequence/);
      const bobView = await run(process.execPath, [
        CLI,
        "query",
        "balanceOf",
        "--node",
        b.url,
        "--key",
        bobKey,
      ]);
      assert.equal(bobView.stdout.trim(), '"250"');
      await assert.rejects(
        user(bobKey, "call", "transfer", JSON.stringify({ to: bob, amount: 10_000 })),
        (e: unknown) => /exceeds balance/.test((e as { stderr: string }).stderr),
      );
      const status = JSON.parse(
        (await run(process.execPath, [CLI, "status", "--node", a.url, "--json"])).stdout,
      ) as {
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

    const second = await startDevnet(dataDir);
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
      // The same network, with the same balances.
      const again = await run(process.execPath, [
        CLI,
        "query",
        "balanceOf",
        "--node",
        second.info.nodes[1]!.url,
        "--key",
        join(dataDir, "bob.key"),
      ]);
      assert.equal(again.stdout.trim(), '"250"');
    } finally {
      assert.equal(await stopDevnet(second.child), 0);
    }
  });
});
