// Hardhat's network (EDR inside), a second Ethereum implementation beside Anvil: `hardhat node` from
// the npm package, on a free loopback port, in its own process group so that stopping it stops
// everything it started. Its config (beside this file) has no compiler section: nothing is compiled
// or downloaded; tests deploy the bytecode the build made.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { AnvilError, DEFAULT_CHAIN_ID, freePort, stopChild, untilAnswering } from "../../src/chain/anvil.js";

const CONFIG = fileURLToPath(new URL("./hardhat.config.cjs", import.meta.url));
/** Hardhat loads many modules before it listens: slower to answer than Anvil on a busy machine. */
const READY_TIMEOUT_MS = 60_000;

export type HardhatNode = { rpcUrl: string; chainId: number; pid: number | undefined; stop(): Promise<void> };

function hardhatCli(): string {
  try {
    return createRequire(import.meta.url).resolve("hardhat/internal/cli/cli.js");
  } catch {
    throw new AnvilError("the hardhat package is not installed (run npm ci)");
  }
}

/** Starts `hardhat node` and waits until it answers eth_chainId. */
export async function startHardhat(
  options: { onOutput?: (line: string) => void } = {},
): Promise<HardhatNode> {
  const port = await freePort();
  const args = [hardhatCli(), "node", "--config", CONFIG, "--hostname", "127.0.0.1", "--port", String(port)];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    // No question about telemetry (asked only on a terminal, but said so that it never waits).
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  });
  const pid = child.pid;
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (pid !== undefined) process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  };
  const rpcUrl = `http://127.0.0.1:${port}`;
  const chainId = DEFAULT_CHAIN_ID;
  await untilAnswering(child, {
    name: "hardhat node",
    rpcUrl,
    chainId,
    onOutput: options.onOutput,
    kill,
    timeoutMs: READY_TIMEOUT_MS,
  });
  return { rpcUrl, chainId, pid, stop: () => stopChild(child, "SIGTERM", kill) };
}
