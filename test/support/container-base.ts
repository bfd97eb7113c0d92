// A local stand-in for the Dockerfile's base image (node:20-bookworm-slim) where no registry can be
// reached: this machine's own node and npm, a shell, `env` and `install`, the shared libraries `ldd`
// names for them, and the user `node` (uid 1000) the official image has. It is imported once into
// podman's store under a tag naming its contents, and reused while they are unchanged.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bump when what goes into the stand-in changes, so an old one in the store is not reused. */
const STAND_IN_VERSION = "2";
/** The official image's unprivileged user `node`, which the Dockerfile runs as. */
export const IMAGE_UID = 1000;
const TAG_HASH_CHARS = 16;
/** /tmp's mode, as in any Debian image. */
const STICKY_WORLD_WRITABLE = 0o1777;
/** Where the official image puts node and npm (its PATH finds them; the Dockerfile names no path). */
const NODE_AT = "/usr/local/bin/node";
const NPM_AT = "/usr/local/lib/node_modules/npm";
/** What the Dockerfile's RUN steps and npm's shebang need besides node. */
const TOOLS = ["/bin/sh", "/usr/bin/env", "/usr/bin/install"];
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The shared libraries a binary loads, as `ldd` lists them (the loader included). */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/** npm as installed beside this node (`<prefix>/bin/node`, `<prefix>/lib/node_modules/npm`). */
function npmDir(): string {
  return join(dirname(realpathSync(process.execPath)), "../lib/node_modules/npm");
}

/** The tag: what the stand-in is made of, so a changed node or npm makes a new one. */
function standInTag(): string {
  const hash = createHash("sha256").update(STAND_IN_VERSION).update(readFileSync(process.execPath));
  hash.update(readFileSync(join(npmDir(), "package.json")));
  return `localhost/anonify-test-base:${hash.digest("hex").slice(0, TAG_HASH_CHARS)}`;
}

async function makeRootfs(root: string): Promise<void> {
  const put = (from: string, to: string) => {
    mkdirSync(join(root, dirname(to)), { recursive: true });
    copyFileSync(realpathSync(from), join(root, to));
  };
  put(process.execPath, NODE_AT);
  cpSync(npmDir(), join(root, NPM_AT), { recursive: true, dereference: true });
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(root, "/usr/local/bin/npm"));
  for (const tool of TOOLS) put(tool, tool);
  const binaries = [process.execPath, ...TOOLS];
  for (const lib of new Set((await Promise.all(binaries.map(librariesOf))).flat())) put(lib, lib);
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc/passwd"),
    `root:x:0:0::/root:/bin/sh\nnode:x:${IMAGE_UID}:${IMAGE_UID}::/home/node:/bin/sh\n`,
  );
  writeFileSync(join(root, "etc/group"), `root:x:0:\nnode:x:${IMAGE_UID}:\n`);
  mkdirSync(join(root, "tmp"));
  chmodSync(join(root, "tmp"), STICKY_WORLD_WRITABLE); // after mkdir, which the umask narrows
  mkdirSync(join(root, "root"), { mode: 0o700 });
  mkdirSync(join(root, "home/node"), { recursive: true });
  // Rootless podman maps the caller to root anyway; only root can give the user its home.
  if (process.getuid?.() === 0) chownSync(join(root, "home/node"), IMAGE_UID, IMAGE_UID);
}

/**
 * The stand-in's tag, importing it into podman's store first if it is not there. `podman` runs the
 * podman command with the given arguments.
 */
export async function standInBase(podman: (args: string[]) => Promise<unknown>): Promise<string> {
  const tag = standInTag();
  const exists = await podman(["image", "exists", tag]).then(
    () => true,
    () => false,
  );
  if (exists) return tag;
  const dir = mkdtempSync(join(tmpdir(), "anonify-base-"));
  try {
    const root = join(dir, "root");
    await makeRootfs(root);
    const archive = join(dir, "rootfs.tar");
    await run("tar", ["--sort=name", "--mtime=@0", "--numeric-owner", "-C", root, "-cf", archive, "."]);
    await podman(["import", "--change", `ENV PATH=${PATH}`, "--change", 'CMD ["node"]', archive, tag]);
    return tag;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
