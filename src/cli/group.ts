import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { DEVNET_NODES_FILE, type DevnetNodesRecord } from "../devnet/devnet.js";
import { ADMIN_TOKEN_FILE } from "../host/admin-token.js";
import { nodeRequest } from "./node-request.js";
import { run } from "./output.js";

export function registerGroupCommand(program: Command): void {
  const group = program.command("group").description("the enclaves' MLS group");
  group
    .command("status")
    .description("epoch, members (enclave addresses) and the last handshake, as a node sees them")
    .requiredOption("--node <url>", "a node's API URL")
    .option("--json", "machine-readable output", false)
    .action((flags: { node: string; json: boolean }) =>
      run(flags, async () => {
        const s = (await nodeRequest(flags.node, "GET", "/v1/status")) as {
          epoch: string | null;
          slot: string;
          members: string[];
          lastHandshake: { slot: string; enclave: string; outcome: string } | null;
          epochKeyFingerprint: string | null;
          synced: boolean;
        };
        if (flags.json) return console.log(JSON.stringify(s));
        console.log(
          `epoch ${s.epoch ?? "(not a member)"} (handshake slot ${s.slot}), ${s.synced ? "synced" : "syncing"}`,
        );
        console.log(`epoch key fingerprint ${s.epochKeyFingerprint ?? "-"}`);
        console.log(`members (${s.members.length}):`);
        for (const m of s.members) console.log(`  ${m}`);
        if (s.lastHandshake) {
          console.log(
            `last handshake: slot ${s.lastHandshake.slot} by ${s.lastHandshake.enclave}: ${s.lastHandshake.outcome}`,
          );
        }
      }),
    );
  group
    .command("rotate")
    .description("ask a node's enclave to rotate the group key (an empty commit with a path update)")
    .requiredOption("--node <url>", "a node's API URL")
    .option("--admin-token <file>", `the node's admin token file (<node's host dir>/${ADMIN_TOKEN_FILE})`)
    .option(
      "--data-dir <dir>",
      "without --admin-token: the devnet's data directory, where it lists its nodes",
      ".anonify",
    )
    .action((flags: { node: string; adminToken?: string; dataDir: string }) =>
      run({}, async () => {
        const tokenFile = flags.adminToken ?? devnetAdminToken(flags.node, resolve(flags.dataDir));
        const token = readFileSync(tokenFile, "utf8").trim();
        await nodeRequest(flags.node, "POST", "/v1/group/rotate", { authorization: `Bearer ${token}` });
        console.log("rotation requested; it lands with the node's next handshake");
      }),
    );
}

/** The admin token file of the devnet node at `node`, from the list a running devnet keeps in `dataDir`. */
function devnetAdminToken(node: string, dataDir: string): string {
  const listPath = join(dataDir, DEVNET_NODES_FILE);
  const origin = new URL(node).origin;
  const listed = existsSync(listPath)
    ? (JSON.parse(readFileSync(listPath, "utf8")) as DevnetNodesRecord).find(
        (n) => new URL(n.url).origin === origin,
      )
    : undefined;
  if (!listed)
    throw new Error(
      `no admin token for ${node}: ${listPath} does not list it; pass --admin-token <file> ` +
        `(a node keeps its token in its host directory, file ${ADMIN_TOKEN_FILE})`,
    );
  return listed.adminToken;
}
