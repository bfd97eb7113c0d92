// esbuild as the measured builds run it (the enclave bundle and each app's own bundle): from the
// package's root with relative paths, nothing minified, no source maps, so one tree gives one set of
// bytes on any machine, and a measurement is the SHA-256 of those bytes.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import type { Hex } from "viem";
import { enclaveResolution } from "./enclave-resolution.js";

/**
 * The package's root, found from this module whether it runs from source or from the CLI bundle; an
 * install without the sources (the container image) has one too, and only cannot build.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the anonify package root");
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = packageRoot();

/**
 * esbuild's settings for every measured bundle: deterministic, relative paths, nothing minified, and
 * the enclave's resolution (enclave-resolution.ts).
 */
export const DETERMINISTIC = {
  absWorkingDir: REPO_ROOT, // paths inside the bundle are relative, so the measurement is machine-independent
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  write: false,
  minify: false,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // Packages resolve as in the enclave (what it never runs left out), so an app's own bundle, whose
  // hash is its code hash, holds what the enclave bundle holds of it. A build adding plugins keeps it.
  plugins: [enclaveResolution] as Plugin[],
} as const;

/** What a build without its toolchain says: an installed package ships built bundles, not the means to build. */
const NO_TOOLCHAIN =
  "building an enclave needs anonify's sources and its development dependencies (esbuild): build from a checkout (npm ci); an installed package runs the bundles it ships (dist/enclave)";

/**
 * esbuild, a development dependency, is loaded only to build: the CLI of a production install
 * (`npm ci --omit=dev`, as the container image has, or the package installed from npm) runs every
 * other command without it.
 */
export const build: typeof import("esbuild").build = async (options) => {
  const esbuild = await import("esbuild").catch((error: { code?: string }) => {
    throw error.code === "ERR_MODULE_NOT_FOUND"
      ? Object.assign(new Error(NO_TOOLCHAIN), { code: "no_toolchain" })
      : error;
  });
  return esbuild.build(options);
};

export const sha256Hex = (bytes: Uint8Array): Hex => `0x${createHash("sha256").update(bytes).digest("hex")}`;
