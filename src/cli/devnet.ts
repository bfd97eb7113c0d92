import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_NETWORK_PROFILE } from "../client/network-profile.js";
import { devnetOwnerKeyFile } from "../devnet/devnet.js";
import { startProcessDevnet } from "../devnet/devnet-processes.js";
import { ADMIN_TOKEN_FILE } from "../host/admin-token.js";
import { createLogger } from "../host/log.js";
import { OperatorError } from "../operator/operator-checks.js";
import { printable, run } from "./output.js";

/** Anvil's accounts 1..9 pay the nodes' gas (account 0 owns the contract). */
const MAX_DEVNET_NODES = 9;

function parseNodes(value: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : 0;
  if (n < 1 || n > MAX_DEVNET_NODES)
    throw new OperatorError(
      "bad_flag",
      `--nodes must be 1 to ${MAX_DEVNET_NODES} (Anvil's funded accounts 1..${MAX_DEVNET_NODES} pay the nodes' gas), not ${JSON.stringify(value)}`,
    );
  return n;
}

export function registerDevnetCommand(program: Command): void {
  program
    .command("devnet")
    .description("run a local network: embedded chain, contract, attestation service and nodes with enclaves")
    .option("--nodes <n>", "how many nodes (each with its own enclave process)", "3")
    .option(
      "--app <name>",
      "the app the network runs: its development build from npm run build (default: the default build's, erc20); a devnet keeps its app",
    )
    .option("--data-dir <dir>", "where chain state and node data live", ".anonify")
    .option("--fresh", "delete the data directory first and start a new network", false)
    .option("--json", "print the endpoints as JSON", false)
    .action((opts: { dataDir: string; fresh: boolean; json: boolean; nodes: string; app?: string }) =>
      run(opts, async () => {
        const dataDir = resolve(opts.dataDir);
        if (opts.fresh) rmSync(dataDir, { recursive: true, force: true });
        const devnet = await startProcessDevnet({
          dataDir,
          nodes: parseNodes(opts.nodes),
          ...(opts.app === undefined ? {} : { app: opts.app }),
          // Each node and the attestation service run as `anonify` processes of their own.
          cli: process.argv[1] ?? "bin/anonify.mjs",
          // Logs go to standard error: JSON beside --json, else one short line each for a terminal.
          log: createLogger({ format: opts.json ? "json" : "human" }),
        });
        // Every node runs the one app: as the first one named it when it started.
        const app = devnet.nodes[0]?.app;
        const info = {
          app,
          chainRpc: devnet.rpcUrl,
          chainId: devnet.chainId,
          contract: devnet.contract,
          networkProfile: devnet.networkProfile,
          attestationService: devnet.attestationUrl,
          nodes: devnet.nodes.map((n) => ({ url: n.url, enclave: n.address, adminToken: n.adminToken })),
          wallet: `${devnet.nodes[0]?.url}/`,
          ownerKey: devnetOwnerKeyFile(dataDir),
          dataDir,
          resumed: devnet.resumed,
        };
        if (opts.json) console.log(JSON.stringify(info));
        else {
          console.log(`anonify devnet ${devnet.resumed ? "resumed" : "started"} (data in ${dataDir})`);
          if (app)
            console.log(
              printable(
                `  app                  ${app.name} v${app.stateVersion}, code hash ${app.codeHash} (id ${app.id})`,
              ),
            );
          console.log(`  chain RPC            ${devnet.rpcUrl} (chain id ${devnet.chainId}, embedded Anvil)`);
          console.log(`  Anonify contract     ${devnet.contract}`);
          const ownerKey = devnetOwnerKeyFile(dataDir);
          const owner = privateKeyToAccount(readFileSync(ownerKey, "utf8").trim() as Hex).address;
          console.log(
            `  contract owner       ${owner} (key ${ownerKey}: Anvil's account 0, for anonify policy)`,
          );
          const found = resolve(DEFAULT_NETWORK_PROFILE) === devnet.networkProfile;
          console.log(
            `  network profile      ${devnet.networkProfile} (${found ? "the CLI finds it from this directory" : "give the CLI --network with it"})`,
          );
          console.log(
            `  attestation service  ${devnet.attestationUrl} (development policy: simulated enclaves allowed)`,
          );
          for (const [i, n] of devnet.nodes.entries()) {
            console.log(`  node ${i + 1}               ${n.url} (enclave ${n.address}, simulated TEE)`);
          }
          console.log(
            `  wallet               ${devnet.nodes[0]?.url}/ (web wallet and explorer; every node serves it at /)`,
          );
          console.log(`  admin tokens         ${join(dataDir, "node-N", ADMIN_TOKEN_FILE)} (mode 0600)`);
          console.log(
            `  node processes       ${devnet.nodes.map((n) => n.pid).join(", ")} (each an \`anonify node start\`)`,
          );
          console.log(
            "The enclaves form their MLS group through the chain; watch it with `anonify group status --node URL`.",
          );
          console.log("Press Ctrl-C to stop.");
        }
        const stop = async () => {
          await devnet.stop();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
