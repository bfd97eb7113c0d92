// deploy/compose.yaml brought up with podman-compose (Debian's, 1.0), as an operator does, with three
// changes so that it runs beside anything else on the machine: the test's image, free host ports,
// and a project name of its own. Its keys are Anvil's public test accounts 0 (owner) and 1 (node).
import { execFile } from "node:child_process";
import { chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/chain/anvil.js";
import { anvilKey } from "./chain.js";
import { IMAGE_UID } from "./container-base.js";
import type { Podman } from "./podman.js";

const run = promisify(execFile);
const COMPOSE_FILE = join(import.meta.dirname, "../../deploy/compose.yaml");
export const PODMAN_COMPOSE = process.env.PODMAN_COMPOSE_PATH ?? "/usr/bin/podman-compose";
/** Where CNI's dnsname plugin may be: without it, containers on a CNI network cannot resolve each other's names. */
const DNSNAME_PLUGINS = ["/usr/lib/cni/dnsname", "/usr/libexec/cni/dnsname", "/opt/cni/bin/dnsname"];

export type ComposeRun = {
  /** The node's API, at its published port. */
  readonly nodeUrl: string;
  /** The chain, at its published port (what the node tells clients, `--public-rpc`). */
  readonly chainUrl: string;
  /** A service's container logs (its standard output and error). */
  logs(service: string): Promise<string>;
  /** `down -v`: the containers, volumes and network go. */
  down(): Promise<void>;
};

/** Why compose cannot run here, or false. */
export async function composeSkip(podman: Podman): Promise<string | false> {
  if (!existsSync(PODMAN_COMPOSE)) return `no podman-compose at ${PODMAN_COMPOSE} (Debian's podman-compose)`;
  const { stdout } = await podman.run(["info", "--format", "{{.Host.NetworkBackend}}"]);
  if (stdout.trim() === "cni" && !DNSNAME_PLUGINS.some((p) => existsSync(p)))
    return "podman's CNI networks resolve no service names without the dnsname plugin (Debian's golang-github-containernetworking-plugin-dnsname)";
  return false;
}

/** `text` with `from` replaced by `to`, which must be there (else the compose file changed under the test). */
function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/compose.yaml no longer has ${from}`);
  return text.replaceAll(from, to);
}

/** Writes the adapted compose file and its keys into `dir` and brings it up, detached. */
export async function composeUp(
  podman: Podman,
  image: string,
  project: string,
  dir: string,
): Promise<ComposeRun> {
  const [nodePort, chainPort] = [await freePort(), await freePort()];
  let text = replaced(readFileSync(COMPOSE_FILE, "utf8"), "image: anonify-node", `image: ${image}`);
  text = replaced(text, "127.0.0.1:8080:8080", `127.0.0.1:${nodePort}:8080`);
  text = replaced(text, "127.0.0.1:8545:8545", `127.0.0.1:${chainPort}:8545`);
  text = replaced(text, "--public-rpc=http://127.0.0.1:8545", `--public-rpc=http://127.0.0.1:${chainPort}`);
  const file = join(dir, "compose.yaml");
  writeFileSync(file, text);
  for (const [name, account] of [
    ["owner.key", 0],
    ["gas.key", 1],
  ] as const) {
    // Readable by the image's user, as compose mounts the files as they are.
    writeFileSync(join(dir, name), `${anvilKey(account)}\n`, { mode: 0o400 });
    if (process.getuid?.() === 0) chownSync(join(dir, name), IMAGE_UID, IMAGE_UID);
  }
  const compose = (...args: string[]) =>
    run(PODMAN_COMPOSE, [
      ...["--podman-args", podman.global.join(" "), "--podman-run-args", podman.limits.join(" ")],
      ...["-p", project, "-f", file, ...args],
    ]);
  const down = async () => {
    await compose("down", "-v").catch(() => undefined);
    await podman.run(["network", "rm", `${project}_default`]).catch(() => undefined);
  };
  try {
    await compose("up", "-d");
  } catch (error) {
    await down();
    throw error;
  }
  return {
    nodeUrl: `http://127.0.0.1:${nodePort}`,
    chainUrl: `http://127.0.0.1:${chainPort}`,
    logs: async (service) => {
      const { stdout, stderr } = await podman.run(["logs", `${project}_${service}_1`]);
      return stdout + stderr;
    },
    down,
  };
}
