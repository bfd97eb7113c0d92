import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { until } from "../support/wait.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");

type DevnetInfo = { contract: string; nodes: { url: string; enclave: string }[]; resumed: boolean };
type Status = { epoch: string | null; members: string[]; epochKeyFingerprint: string | null };

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
      const [a, b] = first.info.nodes as [{ url: string; enclave: string }, { url: string; enclave: string }];
      formed = await until("the group to form", async () => {
        const [sa, sb] = await Promise.all([groupStatus(a.url), groupStatus(b.url)]);
        return sa.members.length === 2 && sa.epochKeyFingerprint === sb.epochKeyFingerprint ? sa : undefined;
      });
      await run(process.execPath, [CLI, "group", "rotate", "--node", b.url]);
      formed = await until("the rotation", async () => {
        const [sa, sb] = await Promise.all([groupStatus(a.url), groupStatus(b.url)]);
        return sa.epoch !== formed.epoch && sa.epochKeyFingerprint === sb.epochKeyFingerprint
          ? sa
          : undefined;
      });
      const res = await fetch(new URL("/docs/openapi.json", a.url));
      const doc = (await res.json()) as { paths: Record<string, unknown> };
      assert.ok(doc.paths["/v1/status"] && doc.paths["/v1/group/rotate"]);
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
    } finally {
      assert.equal(await stopDevnet(second.child), 0);
    }
  });
});
