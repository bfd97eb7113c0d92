import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { address, array, bool, decimal, hex, nullable, object, optional, string } from "../app/schema.js";
import { NODE_PEER_SYNC } from "../client/node-api.js";
import { DEVNET_NODES_FILE, type DevnetNodesRecord } from "../devnet/devnet.js";
import { ADMIN_TOKEN_FILE } from "../host/admin-token.js";
import { nodeRequest } from "./node-request.js";
import { printable, run } from "./output.js";

/** Bounds on what a node may say of its group: far above any real group, so only a lie meets them. */
const MAX_MEMBERS_SHOWN = 10_000;
const MAX_OUTCOME_CHARS = 4096;
const FINGERPRINT_BYTES = 32;

/** The fields of `GET /v1/status` this command shows, as a node must send them. */
const NODE_GROUP_STATUS = object(
  {
    epoch: nullable(decimal({ bits: 64 })),
    slot: decimal({ bits: 64 }),
    members: array(address(), { max: MAX_MEMBERS_SHOWN }),
    lastHandshake: nullable(
      object(
        {
          slot: decimal({ bits: 64 }),
          enclave: address(),
          outcome: string({ maxLength: MAX_OUTCOME_CHARS }),
        },
        { unknownFields: "drop" },
      ),
    ),
    epochKeyFingerprint: nullable(hex({ max: FINGERPRINT_BYTES })),
    synced: bool(),
    sync: optional(NODE_PEER_SYNC),
  },
  { unknownFields: "drop" },
);

/** An answer this command does not read. */
const ANY_ANSWER = object({}, { unknownFields: "drop" });

export function registerGroupCommand(program: Command): void {
  const group = program.command("group").description("the enclaves' MLS group");
  group
    .command("status")
    .description("epoch, members (enclave addresses) and the last handshake, as a node sees them")
    .requiredOption("--node <url>", "a node's API URL")
    .option("--json", "machine-readable output", false)
    .action((flags: { node: string; json: boolean }) =>
      run(flags, async () => {
        const s = await nodeRequest(flags.node, "GET", "/v1/status", NODE_GROUP_STATUS);
        if (flags.json) return console.log(printable(JSON.stringify(s)));
        console.log(
          `epoch ${s.epoch ?? "(not a member)"} (handshake slot ${s.slot}), ${s.synced ? "synced" : "syncing"}`,
        );
        if (s.sync?.reason === "no_peer")
          console.log(
            `state snapshot: waiting, no peer to fetch it from (${s.sync.peers} given with --peer, ` +
              `${s.sync.announced} announced on chain); the node keeps looking`,
          );
        console.log(`epoch key fingerprint ${s.epochKeyFingerprint ?? "-"}`);
        console.log(`members (${s.members.length}):`);
        for (const m of s.members) console.log(`  ${m}`);
        if (s.lastHandshake) {
          const { slot, enclave, outcome } = s.lastHandshake;
          console.log(printable(`last handshake: slot ${slot} by ${enclave}: ${outcome}`));
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
        await nodeRequest(flags.node, "POST", "/v1/group/rotate", ANY_ANSWER, {
          authorization: `Bearer ${token}`,
        });
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
