import type { Command } from "commander";

async function nodeRequest(node: string, method: "GET" | "POST", path: string): Promise<unknown> {
  const res = await fetch(new URL(path, node), { method });
  const body = (await res.json()) as { code?: string; message?: string };
  if (!res.ok) throw new Error(`${body.code ?? res.status}: ${body.message ?? res.statusText}`);
  return body;
}

export function registerGroupCommand(program: Command): void {
  const group = program.command("group").description("the enclaves' MLS group");
  group
    .command("status")
    .description("epoch, members (enclave addresses) and the last handshake, as a node sees them")
    .requiredOption("--node <url>", "a node's API URL")
    .option("--json", "machine-readable output", false)
    .action(async (flags: { node: string; json: boolean }) => {
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
    });
  group
    .command("rotate")
    .description("ask a node's enclave to rotate the group key (an empty commit with a path update)")
    .requiredOption("--node <url>", "a node's API URL")
    .action(async (flags: { node: string }) => {
      await nodeRequest(flags.node, "POST", "/v1/group/rotate");
      console.log("rotation requested; it lands with the node's next handshake");
    });
}
