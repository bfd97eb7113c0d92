// A node run from the container image, attached (`podman run` without -d): ready once the node
// prints its JSON line on standard output, as `anonify node start --json` does outside a container;
// its standard error (the node's JSON logs) is kept to explain a failure.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Address } from "viem";
import { PODMAN, type Podman } from "./podman.js";

/** A first start registers its enclave on chain: allow for a slow, shared machine. */
const READY_TIMEOUT_MS = 90_000;
/** How long `podman stop` waits for the node to close and flush before it kills it. */
export const STOP_TIMEOUT_S = 30;
/** Log lines kept to explain a container that exits or stalls. */
const KEPT_LINES = 30;

export type NodeStarted = { url: string; enclave: Address; registered: "now" | "already" };

export type ContainerNode = {
  ready: NodeStarted;
  /** The container's exit status (`podman run`'s own). */
  exited: Promise<number | null>;
  logs: string[];
};

/** Runs `podman run --rm --name NAME ...args` and waits for the node's JSON line. */
export function runContainerNode(
  podman: Podman,
  name: string,
  args: readonly string[],
): Promise<ContainerNode> {
  const child = spawn(PODMAN, [...podman.global, "run", "--rm", "--name", name, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    logs.push(line);
    if (logs.length > KEPT_LINES) logs.shift();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const fail = (what: string) =>
      reject(new Error(`the node in container ${name} ${what}:\n${logs.join("\n")}`));
    const timer = setTimeout(() => fail(`printed nothing within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      clearTimeout(timer);
      resolve({ ready: JSON.parse(line) as NodeStarted, exited, logs });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(`exited (${code}) before it was ready`);
    });
  });
}
