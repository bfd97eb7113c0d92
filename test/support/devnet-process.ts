// `anonify devnet --json` as a process of its own (the CLI from a checkout, or as a project installed
// it): resolved with what it prints once every node serves, and stopped as a user stops it, Ctrl-C.
import { type ChildProcess, spawn } from "node:child_process";

/** Starts `command ...args` (a devnet given --json), resolving with the JSON line it prints. */
export function startDevnet<Info>(
  [command, ...args]: [string, ...string[]],
  cwd?: string,
): Promise<{ child: ChildProcess; info: Info }> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, info: JSON.parse(line) as Info });
    });
    child.once("exit", (code) => reject(new Error(`devnet exited early (${code}): ${out}`)));
  });
}

/** Ctrl-C: resolves with the exit code (0 when everything stopped cleanly). */
export function stopDevnet(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  return exited;
}
