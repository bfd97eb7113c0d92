// A user's own project that installs this package as npm packs it: the tarball of the built checkout
// (what `npm run build` left in dist/), and a scratch project whose lockfile pins the tarball and
// exactly the versions this repository locks, so that `npm ci --offline` installs it from the npm
// cache the repository's own `npm ci` filled: nothing is downloaded, here or in CI. (A plain
// `npm install --offline` would resolve version ranges from registry metadata a cache filled by
// `npm ci` need not hold.)
import { execFile } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** The scratch project's own tools, at the versions this repository develops with. */
const TOOLS = ["typescript", "@types/node"] as const;
const MODULES = "node_modules/";

type LockEntry = {
  version: string;
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
type Manifest = {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

export type Packed = { tarball: string; bytes: number; unpackedBytes: number; files: string[] };

/**
 * `npm pack` of the checkout into `dest`. Its scripts are skipped: `prepare` would build again, and
 * the tests run on the build `npm test` made first.
 */
export async function packRepository(dest: string): Promise<Packed> {
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dest], {
    cwd: REPO_ROOT,
  });
  const [packed] = JSON.parse(stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  if (!packed) throw new Error("npm pack made no tarball");
  return {
    tarball: join(dest, packed.filename),
    bytes: packed.size,
    unpackedBytes: packed.unpackedSize,
    files: packed.files.map((f) => f.path),
  };
}

/** Where Node would find package `name` from the package at lock path `from` (nearest node_modules up). */
function resolveLocked(locked: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let at = from; ; ) {
    const candidate = `${at === "" ? "" : `${at}/`}${MODULES}${name}`;
    if (locked[candidate]) return candidate;
    if (at === "") return undefined;
    const parent = at.lastIndexOf(`/${MODULES}`);
    at = parent < 0 ? "" : at.slice(0, parent);
  }
}

/** The lock paths of `roots` and everything they depend on (optional and peer dependencies too). */
function closure(locked: Record<string, LockEntry>, roots: Record<string, string>): string[] {
  const seen = new Set<string>();
  const visit = (from: string, deps: Record<string, string>) => {
    for (const name of Object.keys(deps)) {
      const path = resolveLocked(locked, from, name);
      if (path === undefined || seen.has(path)) continue; // an optional peer nobody installs
      seen.add(path);
      const entry = locked[path]!;
      visit(path, { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies });
    }
  };
  visit("", roots);
  return [...seen].sort();
}

/**
 * Writes a project into `dir` (an ES module project, as a user's backend is) depending on the
 * tarball, with TypeScript and Node's types to develop with, and its lockfile. `allowScripts` lets
 * the package's own scripts run, as a user who approved them would: npm runs no `prepare` for a
 * tarball, and this shows it (the build it would start needs what the package does not ship).
 */
export async function writeScratchProject(dir: string, tarball: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as Manifest;
  const locked = (
    JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  const file = `file:${basename(tarball)}`;
  copyFileSync(tarball, join(dir, basename(tarball)));
  const dependencies = { [manifest.name]: file };
  const devDependencies = Object.fromEntries(TOOLS.map((tool) => [tool, manifest.devDependencies[tool]!]));
  const project = { name: "scratch", version: "1.0.0", private: true, type: "module" };
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify(
      { ...project, dependencies, devDependencies, allowScripts: { [manifest.name]: true } },
      null,
      2,
    ),
  );
  // The repository's lockfile names no tarball URLs (npm finds them in registry metadata); these
  // are the registry's own, under which npm cached the tarballs it fetched.
  const registry = (await run("npm", ["config", "get", "registry"])).stdout.trim().replace(/\/?$/, "/");
  const tarballUrl = (path: string, entry: LockEntry) => {
    const name = entry.name ?? path.slice(path.lastIndexOf(MODULES) + MODULES.length);
    return `${registry}${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
  };
  const needed = closure(locked, { ...manifest.dependencies, ...devDependencies });
  const packages = {
    "": { name: project.name, version: project.version, dependencies, devDependencies },
    [`${MODULES}${manifest.name}`]: {
      version: manifest.version,
      resolved: file,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
    ...Object.fromEntries(
      needed.map((path) => [path, { resolved: tarballUrl(path, locked[path]!), ...locked[path] }]),
    ),
  };
  const lock = { name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages };
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
}

/** Installs the scratch project from its lockfile, from the npm cache alone. */
export async function installOffline(dir: string): Promise<void> {
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: dir });
}
