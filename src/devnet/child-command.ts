// An `anonify` command run as a process of its own (its own process group, so it and its enclave
// child stop together, and a terminal's Ctrl-C reaches only whoever started it): ready once it
// prints its JSON line on standard output; its standard error goes line by line to `onLine`.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** How long a command may take to print its JSON line (a node registers and catches up first). */
const READY_TIMEOUT_MS = 120_000;
/** How long a stopped command may take to exit before its process group is killed. */
const STOP_TIMEOUT_MS = 15_000;
/** Standard error lines kept to explain a command that exits before it is ready. */
const KEPT_LINES = 20;

export type ChildCommand<T> = {
  /** What it printed once ready (its JSON line). */
  ready: T;
  pid: number;
  /** SIGTERM to its process group (a clean stop), SIGKILL if it lingers. */
  stop(): Promise<void>;
  /** SIGKILL to its process group at once: a crash. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
};

export type ChildCommandOptions = {
  /** Each line the command writes on standard error. */
  onLine?: (line: string) => void;
  cwd?: string;
};

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Runs `node <cli> ...args` and waits for its JSON line; rejects with its last words if it exits first. */
export function startChildCommand<T>(
  cli: string,
  args: readonly string[],
  options: ChildCommandOptions = {},
): Promise<ChildCommand<T>> {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    cwd: options.cwd,
  });
  // Its own process group does not die with this process: if this one exits without stopping it
  // (an uncaught error), it is told to stop, not left serving unseen.
  const orphaned = () => signalGroup(child, "SIGTERM");
  process.once("exit", orphaned);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      process.off("exit", orphaned);
      resolve(code);
    }),
  );
  const lastWords: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    lastWords.push(line);
    if (lastWords.length > KEPT_LINES) lastWords.shift();
    options.onLine?.(line);
  });
  const stop = async () => {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    signalGroup(child, "SIGKILL");
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`anonify ${args[0]} did not start within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    let ready = false;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (ready || !line.startsWith("{")) return;
      ready = true;
      clearTimeout(timer);
      const value = JSON.parse(line) as T & { ok?: boolean; reason?: string };
      if (value.ok === false) reject(new Error(`anonify ${args[0]}: ${value.reason}`));
      else resolve({ ready: value, pid: child.pid!, stop, kill, exited });
    });
    void exited.then((code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(
        new Error(`anonify ${args.join(" ")} exited (${code}) before it was ready:\n${lastWords.join("\n")}`),
      );
    });
  });
}
