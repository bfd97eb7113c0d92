// The image the Dockerfile makes, built with podman from this checkout (built: dist/ is what the
// image packages) as docs/operations.md says, on the base image podman.ts chose.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Podman } from "./podman.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");

/** Builds the checkout's Dockerfile into `tag`. */
export async function buildImage(podman: Podman, tag: string): Promise<void> {
  // The machine's npm cache, mounted as an overlay whose writes are dropped, spares the registry the
  // packages .ci/run's `npm ci` fetched already (the lockfile's integrity hashes still decide).
  const { stdout } = await run("npm", ["config", "get", "cache"]);
  const cache = stdout.trim();
  const npmCache = existsSync(cache) ? ["-v", `${cache}:/root/.npm:O`] : [];
  // `--format docker` keeps the HEALTHCHECK; the build's network is the host's, for npm.
  await podman.run(
    ["build", "--format", "docker", "--network", "host", ...podman.limits, ...npmCache].concat([
      "--build-arg",
      `BASE=${podman.base}`,
      "-t",
      tag,
      ROOT,
    ]),
  );
}
