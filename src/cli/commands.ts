// `anonify wallet new`, `call`, `query` and `status`: a user's side of a network.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { canonicalJson } from "../app/canonical.js";
import { AnonifyClient, AnonifyClientError, checkNodeNetwork } from "../client/anonify-client.js";
import {
  defaultPolicyName,
  ENCLAVE_POLICIES,
  type EnclavePolicy,
  isEnclavePolicyName,
} from "../client/enclave-policy.js";
import { localAccount } from "../client/local-account.js";
import {
  type ChainTarget,
  DEFAULT_NETWORK_PROFILE,
  type NetworkProfile,
  type ProfileTrust,
  parseChainId,
  parseContract,
  parseRpcUrl,
  readNetworkProfile,
} from "../client/network-profile.js";
import { printable, run } from "./output.js";
import { registerWalletServe } from "./wallet-serve.js";

type NetworkFlags = { network?: string; rpc?: string; chainId?: string; contract?: string };
type NodeFlags = NetworkFlags & {
  node: string;
  key?: string;
  app?: string;
  policy?: string;
  measurement?: string[];
  json: boolean;
};

/** Permission bits for group and others: a key file should have none. */
const GROUP_OTHER_BITS = 0o077;

function readKey(path: string): Hex {
  // Where modes mean nothing (Windows), `mode` still reports 0o666: the warning then says so too.
  if ((statSync(path).mode & GROUP_OTHER_BITS) !== 0)
    console.error(`warning: ${path} can be read by other users of this machine; chmod 600 it`);
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

/**
 * The chain and contract the user chose, never a node's word: `--network FILE`, else
 * `.anonify/network.json` in the current directory if it exists; `--rpc`, `--chain-id` and
 * `--contract` replace its fields (all three make a profile of their own).
 */
export function chosenNetwork(flags: NetworkFlags): ChainTarget & { trust?: ProfileTrust } {
  const path = flags.network ?? (existsSync(DEFAULT_NETWORK_PROFILE) ? DEFAULT_NETWORK_PROFILE : undefined);
  const base: Partial<NetworkProfile> = path ? readNetworkProfile(path) : {};
  const target = {
    rpcUrl: flags.rpc !== undefined ? parseRpcUrl(flags.rpc, "flags", "--rpc") : base.rpcUrl,
    chainId: flags.chainId !== undefined ? parseChainId(flags.chainId, "flags", "--chain-id") : base.chainId,
    contract:
      flags.contract !== undefined ? parseContract(flags.contract, "flags", "--contract") : base.contract,
    // Log reads start at the deployment: the profile's block, unless the contract is another; what
    // the profile trusts is of its own contract's deployment too.
    ...(flags.contract === undefined && base.deployedAtBlock !== undefined
      ? { deployedAtBlock: base.deployedAtBlock }
      : {}),
    ...(flags.contract === undefined && base.trust !== undefined ? { trust: base.trust } : {}),
  };
  const missing = (["rpcUrl", "chainId", "contract"] as const).filter((k) => target[k] === undefined);
  if (missing.length > 0) {
    throw new AnonifyClientError(
      "no_network_profile",
      `no network profile: none at ${DEFAULT_NETWORK_PROFILE} here; give --network FILE (npm start writes ` +
        `.anonify/network.json) or --rpc, --chain-id and --contract (missing: ${missing.join(", ")})`,
    );
  }
  return target as ChainTarget & { trust?: ProfileTrust };
}

/** `flags`, refused by name where a key is needed and none was given. */
function keyed(flags: NodeFlags, needed: boolean): NodeFlags {
  if (needed && flags.key === undefined)
    throw new AnonifyClientError(
      "no_key",
      "--key <file> is needed: the file holding your private key (anonify wallet new)",
    );
  return flags;
}

async function connect(flags: NodeFlags): Promise<AnonifyClient> {
  if (flags.policy !== undefined && !isEnclavePolicyName(flags.policy)) {
    throw new AnonifyClientError(
      "bad_policy",
      `--policy must be one of ${Object.keys(ENCLAVE_POLICIES).join(", ")}, not ${flags.policy}`,
    );
  }
  const network = chosenNetwork(flags);
  const name = flags.policy ?? defaultPolicyName(network.chainId);
  const pinned = (flags.measurement ?? []).map((m) => parseMeasurement(m));
  const policy: EnclavePolicy = {
    ...ENCLAVE_POLICIES[name],
    ...(pinned.length > 0 ? { measurements: pinned } : {}),
  };
  const client = await AnonifyClient.connect({
    network,
    node: flags.node,
    // A public query signs nothing: a key of the moment stands in where none is given.
    account: flags.key === undefined ? localAccount(generatePrivateKey()) : localAccount(readKey(flags.key)),
    enclavePolicy: policy,
    // None named: the app the network runs (its enclave's, as registered on chain).
    ...(flags.app === undefined ? {} : { app: flags.app }),
  });
  // Standard error: standard output stays the answer alone (--json adds these as fields).
  if (!flags.json) {
    // Say what the measurement was checked against: the user's pin, or nothing (a policy that takes any).
    const pinnedNote = pinned.length > 0 ? ", its measurement one you pinned" : "";
    console.error(
      printable(`served by ${client.describeEnclave()} (policy ${name}${pinnedNote}), app ${client.app}`),
    );
    for (const w of client.warnings) console.error(printable(`warning: ${w}`));
  }
  return client;
}

function parseMeasurement(value: string): Hex {
  if (!/^0x(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{96})$/.test(value))
    throw new AnonifyClientError(
      "bad_flag",
      `--measurement must be 0x and 32 bytes of hex (48 for a Nitro PCR0), not ${JSON.stringify(value)}`,
    );
  return value.toLowerCase() as Hex;
}

/** What --json output says of the enclave that served the command, and of the app it runs. */
function servedBy(client: AnonifyClient) {
  return { servedBy: client.served, app: client.appIdentity, warnings: client.warnings };
}

/** Prints a value that may hold bigints (amounts): as JSON with decimal strings. */
/** A batch index or block number as a flag gives it: a whole decimal number. */
function blockOrIndex(text: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(text))
    throw new AnonifyClientError("bad_flag", `${JSON.stringify(text)} is not a whole number`);
  return BigInt(text);
}

function show(value: unknown): string {
  // As JSON, then C1 controls escaped too (JSON escapes C0 only): still valid JSON, safe to print.
  return printable(
    canonicalJson(JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)))),
  );
}

function networkOptions(command: Command): Command {
  return command
    .option("--network <file>", `your network profile (default: ${DEFAULT_NETWORK_PROFILE} if it exists)`)
    .option("--rpc <url>", "an Ethereum JSON-RPC URL of the chain (replaces the profile's)")
    .option("--chain-id <id>", "the chain id (replaces the profile's)")
    .option("--contract <address>", "the Anonify contract (replaces the profile's)");
}

function nodeOptions(command: Command): Command {
  return networkOptions(command)
    .requiredOption("--node <url>", "a node's API URL (trusted for availability only)")
    .option(
      "--key <file>",
      "the file holding your private key (anonify wallet new); not needed with query --public",
    )
    .option(
      "--app <name>",
      "the app you mean (default: the one the network runs); a network that runs another is refused",
    )
    .option(
      "--policy <name>",
      "which enclaves to encrypt to, judged from their evidence: production (real TEEs, no debug, pinned measurements) or development (simulated allowed, with a warning); default production, development on chain 31337",
    )
    .option(
      "--measurement <hex>",
      "an enclave measurement you trust (repeatable): the client encrypts only to an enclave whose evidence reports one",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--json", "machine-readable output", false);
}

export function registerUserCommands(program: Command): void {
  const wallet = program.command("wallet").description("your account (a secp256k1 key) and the web wallet");
  wallet
    .command("new")
    .description("make a new account; writes its private key to a file (mode 0600) and prints the address")
    .option("--out <file>", "where to write the key", "anonify-wallet.key")
    .option("--json", "machine-readable output", false)
    .action((flags: { out: string; json: boolean }) =>
      run(flags, async () => {
        const key = generatePrivateKey();
        try {
          // "wx": never over a file that is there, even one made since a check would have looked.
          writeFileSync(flags.out, `${key}\n`, { mode: 0o600, flag: "wx" });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
          throw new AnonifyClientError("exists", `${flags.out} exists; not overwriting it`);
        }
        const address = privateKeyToAccount(key).address;
        console.log(
          flags.json ? JSON.stringify({ ok: true, address, keyFile: resolve(flags.out) }) : address,
        );
      }),
    );

  registerWalletServe(wallet);

  nodeOptions(program.command("call <command> [params]"))
    .description('send a confidential command, e.g. transfer \'{"to":"0x…","amount":5}\'')
    .option("--no-wait", "return once the node accepted it, without waiting for the receipt")
    .action(async (command: string, params: string | undefined, flags: NodeFlags & { wait: boolean }) =>
      run(flags, async () => {
        const client = await connect(keyed(flags, true));
        if (!flags.wait) {
          const { id } = await client.send(command, parseParams(params));
          console.log(
            flags.json ? show({ ok: true, id, status: "queued", ...servedBy(client) }) : `accepted: ${id}`,
          );
          return;
        }
        const receipt = await client.call(command, parseParams(params));
        if (flags.json)
          console.log(
            show({ ok: receipt.status === "applied", ...receipt, domain: undefined, ...servedBy(client) }),
          );
        else if (receipt.status === "applied") {
          console.log(`applied at sequence ${receipt.sequence}: ${receipt.id}`);
          // The command's result (the app's `withResult`), e.g. an auction's id, on a line of its own.
          if (receipt.result !== undefined) console.log(`result: ${show(receipt.result)}`);
        } else console.error(printable(`failed at sequence ${receipt.sequence}: ${receipt.reason}`));
        if (receipt.status !== "applied") process.exitCode = 1;
      }),
    );

  nodeOptions(program.command("query <name> [params]"))
    .description("ask a confidential query, e.g. balanceOf '{}'")
    .option(
      "--public",
      "a query the app declares public: no key, answered in clear and signed by the enclave",
      false,
    )
    .action(async (name: string, params: string | undefined, flags: NodeFlags & { public: boolean }) =>
      run(flags, async () => {
        const client = await connect(keyed(flags, !flags.public));
        // The point the answer reflects, checked on chain (digest, recency): --json names it.
        const { result, at } = await (flags.public ? client.publicQuery : client.queryAt).call(
          client,
          name,
          parseParams(params),
        );
        console.log(flags.json ? show({ ok: true, result, at, ...servedBy(client) }) : show(result));
      }),
    );

  nodeOptions(program.command("outputs"))
    .description(
      "what a batch's commands published (e.g. an auction's winner), read from the chain and checked",
    )
    .requiredOption("--batch <n>", "the batch's index (a receipt's batch.index)")
    .option("--from-block <n>", "read the chain from this block (a receipt's batch.block)")
    .action(async (flags: NodeFlags & { batch: string; fromBlock?: string }) =>
      run(flags, async () => {
        const client = await connect(keyed(flags, false));
        const batch = blockOrIndex(flags.batch);
        const from = flags.fromBlock === undefined ? undefined : blockOrIndex(flags.fromBlock);
        const published = await client.publicOutputs(batch, from);
        if (!published)
          throw new AnonifyClientError(
            "not_published",
            `no public outputs of batch ${batch} are on chain (yet)`,
          );
        console.log(show(published));
      }),
    );

  networkOptions(program.command("status"))
    .description(
      "a node's status: epoch, members, applied sequence, chain head, sync, enclave; checked against your network profile",
    )
    .requiredOption("--node <url>", "a node's API URL")
    .option("--json", "machine-readable output", false)
    .action(async (flags: NetworkFlags & { node: string; json: boolean }) =>
      run(flags, async () => {
        let network: ChainTarget | undefined;
        try {
          network = chosenNetwork(flags);
        } catch (error) {
          // Without any profile the status is shown as the node tells it, and said to be unchecked.
          if (!(error instanceof AnonifyClientError && error.code === "no_network_profile")) throw error;
        }
        const res = await fetch(new URL("/v1/status", flags.node));
        const s = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new AnonifyClientError(String(s.code), String(s.message));
        if (network) checkNodeNetwork(s, network, flags.node);
        if (!network)
          console.error("warning: no network profile; the node's chain and contract are not checked");
        if (flags.json) return console.log(printable(JSON.stringify(s)));
        for (const [k, v] of Object.entries(s))
          console.log(printable(`${k.padEnd(20)} ${typeof v === "object" ? JSON.stringify(v) : v}`));
      }),
    );
}
