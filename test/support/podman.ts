// Podman for the container tests (Debian's podman, which .ci/run installs): found, able to run a
// container on this machine, or the reason it is not, for the tests to skip with. It runs as it
// is; where a default cannot work here it says so and takes the next thing:
// - the OCI runtime: crun first, then runc (crun 1.8 refuses a host whose cgroups are "hybrid",
//   v1 controllers with some mounted under v2 as well);
// - the ulimits: podman asks for nofile 1048576, which needs CAP_SYS_RESOURCE; a container here gets
//   the limits this process has instead.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { standInBase } from "./container-base.js";

const execFileAsync = promisify(execFile);

export const PODMAN = process.env.PODMAN_PATH ?? "/usr/bin/podman";
/** A base image to build from instead of the local stand-in, e.g. node:20-bookworm-slim where a registry answers. */
const BASE_OVERRIDE = process.env.ANONIFY_CONTAINER_BASE;
/** Processes and threads a container's user may have: a node with its enclave needs a few dozen. */
const CONTAINER_NPROC = 4096;
/** podman's own output can be long (a build); enough for any of it. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const RUNTIMES = ["crun", "runc"] as const;

export type Podman = {
  /** Runs `podman [global flags] ...args` to its end; rejects with its standard error. */
  run(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** The global flags every command here takes (the runtime). */
  readonly global: readonly string[];
  /** Flags `podman run` and `podman build` need here (ulimits). */
  readonly limits: readonly string[];
  /** The image the Dockerfile is built FROM (its `BASE` argument). */
  readonly base: string;
};

/** The first lines of a failed command's standard error (what a skip message quotes). */
function why(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(error)).trim().split("\n").slice(0, 3).join(" / ");
}

const podmanIn =
  (global: readonly string[]) =>
  (args: readonly string[]): Promise<{ stdout: string; stderr: string }> =>
    execFileAsync(PODMAN, [...global, ...args], { maxBuffer: MAX_OUTPUT_BYTES });

/** This process's hard limit on open files: more cannot be given to a container without CAP_SYS_RESOURCE. */
async function hardNofile(): Promise<number> {
  const { stdout } = await execFileAsync("/bin/sh", ["-c", "ulimit -Hn"]);
  return Number(stdout.trim());
}

/** Podman able to build and run containers here, or why not (a sentence naming the command and its error). */
export async function findPodman(): Promise<Podman | string> {
  if (!existsSync(PODMAN)) return `no podman at ${PODMAN} (Debian's podman; or set PODMAN_PATH)`;
  try {
    await podmanIn([])(["info"]);
  } catch (error) {
    return `\`podman info\` failed: ${why(error)}`;
  }
  let base: string;
  try {
    base = BASE_OVERRIDE ?? (await standInBase(podmanIn([])));
  } catch (error) {
    return `could not import a local base image (no registry is asked): ${why(error)}`;
  }
  const nofile = await hardNofile();
  const limits = [
    "--ulimit",
    `nofile=${nofile}:${nofile}`,
    "--ulimit",
    `nproc=${CONTAINER_NPROC}:${CONTAINER_NPROC}`,
  ];
  const failures: string[] = [];
  for (const runtime of RUNTIMES) {
    const global = ["--runtime", runtime];
    try {
      await podmanIn(global)(["run", "--rm", "--network", "none", ...limits, base, "node", "--version"]);
      return { run: podmanIn(global), global, limits, base };
    } catch (error) {
      failures.push(`\`podman --runtime ${runtime} run --rm ${base} node --version\`: ${why(error)}`);
    }
  }
  return `podman cannot run a container here: ${failures.join("; ")}`;
}
