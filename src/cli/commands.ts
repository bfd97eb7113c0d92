// `anonify wallet new`, `call`, `query` and `status`: a user's side of a network.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { canonicalJson } from "../app/canonical.js";
import { AnonifyClient, AnonifyClientError } from "../client/anonify-client.js";
import { localAccount } from "../client/local-account.js";

type NodeFlags = { node: string; key: string; contract?: string; rpc?: string; json: boolean };

function readKey(path: string): Hex {
  const key = readFileSync(path, "utf8").trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new AnonifyClientError("bad_key", `${path} does not hold a private key`);
  return key as Hex;
}

function parseParams(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  const value = JSON.parse(json) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AnonifyClientError("bad_params", "params must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** The contract and chain come from flags; without them, from the node (fine on a devnet you run). */
async function connect(flags: NodeFlags): Promise<AnonifyClient> {
  let { contract, rpc } = flags;
  if (!contract || !rpc) {
    const res = await fetch(new URL("/v1/status", flags.node));
    const status = (await res.json()) as { contract: Address; chainRpc: string };
    contract ??= status.contract;
    rpc ??= status.chainRpc;
  }
  return AnonifyClient.connect({
    rpcUrl: rpc,
    contract: contract as Address,
    node: flags.node,
    account: localAccount(readKey(flags.key)),
  });
}

/** Prints a value that may hold bigints (amounts): as JSON with decimal strings. */
function show(value: unknown): string {
  return canonicalJson(
    JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
  );
}

async function run(flags: { json: boolean }, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const code = error instanceof AnonifyClientError ? error.code : "error";
    const message = error instanceof Error ? error.message : String(error);
    if (flags.json) console.log(JSON.stringify({ ok: false, code, reason: message }));
    else console.error(`rejected (${code}): ${message}`);
    process.exitCode = 1;
  }
}

function nodeOptions(command: Command): Command {
  return command
    .requiredOption("--node <url>", "a node's API URL")
    .requiredOption("--key <file>", "the file holding your private key (anonify wallet new)")
    .option("--contract <address>", "the Anonify contract (default: as the node reports it)")
    .option("--rpc <url>", "an Ethereum JSON-RPC URL of the chain (default: as the node reports it)")
    .option("--json", "machine-readable output", false);
}

export function registerUserCommands(program: Command): void {
  program
    .command("wallet")
    .description("your account: a secp256k1 key")
    .command("new")
    .description("make a new account; writes its private key to a file (mode 0600) and prints the address")
    .option("--out <file>", "where to write the key", "anonify-wallet.key")
    .action((flags: { out: string }) => {
      if (existsSync(flags.out)) {
        console.error(`${flags.out} exists; not overwriting it`);
        process.exitCode = 1;
        return;
      }
      const key = generatePrivateKey();
      writeFileSync(flags.out, `${key}\n`, { mode: 0o600 });
      console.log(privateKeyToAccount(key).address);
    });

  nodeOptions(program.command("call <command> [params]"))
    .description('send a confidential command, e.g. transfer \'{"to":"0x…","amount":5}\'')
    .option("--no-wait", "return once the node accepted it, without waiting for the receipt")
    .action(async (command: string, params: string | undefined, flags: NodeFlags & { wait: boolean }) =>
      run(flags, async () => {
        const client = await connect(flags);
        if (!flags.wait) {
          const { id } = await client.send(command, parseParams(params));
          console.log(flags.json ? JSON.stringify({ ok: true, id, status: "queued" }) : `accepted: ${id}`);
          return;
        }
        const receipt = await client.call(command, parseParams(params));
        if (flags.json)
          console.log(show({ ok: receipt.status === "applied", ...receipt, domain: undefined }));
        else if (receipt.status === "applied")
          console.log(`applied at sequence ${receipt.sequence}: ${receipt.id}`);
        else console.error(`failed at sequence ${receipt.sequence}: ${receipt.reason}`);
        if (receipt.status !== "applied") process.exitCode = 1;
      }),
    );

  nodeOptions(program.command("query <name> [params]"))
    .description("ask a confidential query, e.g. balanceOf '{}'")
    .action(async (name: string, params: string | undefined, flags: NodeFlags) =>
      run(flags, async () => {
        const client = await connect(flags);
        const result = await client.query(name, parseParams(params));
        console.log(flags.json ? show({ ok: true, result }) : show(result));
      }),
    );

  program
    .command("status")
    .description("a node's status: epoch, members, applied sequence, chain head, sync, enclave")
    .requiredOption("--node <url>", "a node's API URL")
    .option("--json", "machine-readable output", false)
    .action(async (flags: { node: string; json: boolean }) =>
      run(flags, async () => {
        const res = await fetch(new URL("/v1/status", flags.node));
        const s = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new AnonifyClientError(String(s.code), String(s.message));
        if (flags.json) return console.log(JSON.stringify(s));
        for (const [k, v] of Object.entries(s))
          console.log(`${k.padEnd(20)} ${typeof v === "object" ? JSON.stringify(v) : v}`);
      }),
    );
}
