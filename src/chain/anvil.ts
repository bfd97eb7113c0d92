import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { writeAtomic } from "./files.js";

/** Anvil's well-known development mnemonic: its accounts are funded and their keys are public. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
export const DEFAULT_CHAIN_ID = 31337;
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 10_000;
/** How often Anvil writes its state file besides on exit (seconds), so a crash loses little. */
const STATE_INTERVAL_S = 5;

/** A local chain process (Anvil, or another implementation a test starts) failed to start. */
export class AnvilError extends Error {
  override name = "AnvilError";
}

export type AnvilOptions = {
  /** Chain state is loaded from and dumped to `<dataDir>/chain-state.json`; without it the chain is ephemeral. */
  dataDir?: string;
  port?: number;
  chainId?: number;
  /** Seconds between blocks; omitted means a block per transaction (auto-mine). */
  blockTime?: number;
  /** Where Anvil's own output goes (it never sees a secret); default: discarded. */
  onOutput?: (line: string) => void;
};

export type Anvil = {
  rpcUrl: string;
  port: number;
  chainId: number;
  statePath: string | undefined;
  pid: number | undefined;
  stop(): Promise<void>;
};

/** The anvil binary shipped by npm (`@foundry-rs/anvil-<os>-<arch>`), run directly rather than through its JS shim. */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform === "win32" ? "win32" : process.platform}-${arch}`;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), "bin", "anvil");
  } catch {
    throw new AnvilError(`the anvil binary package ${pkg} is not installed (run npm ci)`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function rpcChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    const body = (await res.json()) as { result?: string };
    return body.result ? Number.parseInt(body.result, 16) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts Anvil as a child process on a free loopback port and waits until it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const port = options.port ?? (await freePort());
  const chainId = options.chainId ?? DEFAULT_CHAIN_ID;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId)];
  args.push("--mnemonic", ANVIL_MNEMONIC, "--accounts", "10");
  let statePath: string | undefined;
  let keeper: NodeJS.Timeout | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    statePath = join(options.dataDir, "chain-state.json");
    recoverStateFile(statePath);
    keeper = keepGoodCopy(statePath);
    args.push(
      "--state",
      statePath,
      "--state-interval",
      String(STATE_INTERVAL_S),
      "--preserve-historical-states",
    );
  }
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));

  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  child.once("exit", () => clearInterval(keeper));
  const rpcUrl = `http://127.0.0.1:${port}`;
  await untilAnswering(child, { name: "anvil", rpcUrl, chainId, onOutput: options.onOutput });
  return { rpcUrl, port, chainId, statePath, pid: child.pid, stop: () => stopChild(child) };
}

/** Where the last state file known whole is kept. */
const goodCopyOf = (statePath: string) => `${statePath}.good`;

const parses = (path: string): boolean => {
  try {
    JSON.parse(readFileSync(path, "utf8"));
    return true;
  } catch {
    return false;
  }
};

/**
 * Anvil rewrites its state file in place: killed mid-write (SIGKILL, a power cut), it leaves a torn
 * file it then refuses to start from. Before a start, a whole file is kept as the good copy, and a
 * torn one is replaced by the good copy (the chain comes back a few seconds older: to its followers,
 * a reorganisation).
 */
function recoverStateFile(statePath: string): void {
  if (!existsSync(statePath)) return;
  const good = goodCopyOf(statePath);
  if (parses(statePath)) {
    writeAtomic(good, readFileSync(statePath));
    return;
  }
  if (!existsSync(good) || !parses(good))
    throw new AnvilError(
      `the chain state file ${statePath} is torn and there is no whole copy to start from`,
    );
  writeAtomic(statePath, readFileSync(good));
}

/**
 * While Anvil runs, each state file it finished writing (it ends with the closing brace: a cheap
 * check; the full one is made before the next start) becomes the good copy.
 */
function keepGoodCopy(statePath: string): NodeJS.Timeout {
  let copied = 0;
  const timer = setInterval(() => {
    try {
      const { mtimeMs } = statSync(statePath);
      if (mtimeMs === copied) return;
      const text = readFileSync(statePath, "utf8");
      if (!text.trimEnd().endsWith("}")) return;
      writeAtomic(goodCopyOf(statePath), text);
      copied = mtimeMs;
    } catch {
      // Not written yet, or being replaced: the next round looks again.
    }
  }, STATE_INTERVAL_S * 1000);
  timer.unref();
  return timer;
}

/**
 * Forwards a chain process's output and polls `eth_chainId` until it answers `chainId`; kills it
 * (with `kill`, default: the process itself) if it does not answer in time.
 */
export async function untilAnswering(
  child: ChildProcess,
  options: {
    name: string;
    rpcUrl: string;
    chainId: number;
    onOutput?: (line: string) => void;
    kill?: (signal: NodeJS.Signals) => void;
    timeoutMs?: number;
  },
): Promise<void> {
  const { name, rpcUrl, chainId } = options;
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = `${name} exited (code ${code}, signal ${signal})`;
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) if (line) options.onOutput?.(line);
  };
  child.stdout?.on("data", forward);
  child.stderr?.on("data", forward);
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while ((await rpcChainId(rpcUrl)) !== chainId) {
    if (exited) throw new AnvilError(`${exited} before answering on ${rpcUrl}`);
    if (Date.now() > deadline) {
      (options.kill ?? ((signal) => child.kill(signal)))("SIGKILL");
      throw new AnvilError(`${name} did not answer on ${rpcUrl} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}

/**
 * Stops a chain process: `signal` first (SIGINT lets Anvil dump its state file), SIGKILL only if it
 * does not exit in time; `kill` sends them (default: to the process itself).
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGINT",
  kill: (signal: NodeJS.Signals) => void = (s) => child.kill(s),
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  kill(signal);
  const timer = setTimeout(() => kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
