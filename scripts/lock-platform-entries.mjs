// npm records a package's optional platform binaries in package-lock.json only when it can read
// their metadata; the registry this project is built against serves only the Linux x64 ones, and
// `npm ci` then refuses the lock file. This adds the missing entries, marked optional with the
// os/cpu/libc their names declare, so `npm ci` skips them on every other platform as it should.
// Run after any `npm install` that changes the lock file: `node scripts/lock-platform-entries.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = "package-lock.json";
const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const packages = lock.packages;
const OS = ["win32", "darwin", "linux", "android", "freebsd", "openbsd", "netbsd", "sunos", "aix"];
const CPU = { amd64: "x64", x64: "x64", arm64: "arm64", arm: "arm", ia32: "ia32" };
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${path}/${key}`]) continue;
    const parts = name.split("/").pop().split("-");
    const os = OS.find((o) => parts.includes(o));
    const cpuPart = parts.find((p) => p in CPU);
    if (!os || !cpuPart) continue;
    const extra = { version, optional: true, os: [os], cpu: [CPU[cpuPart]] };
    if (parts.includes("musl")) extra.libc = ["musl"];
    if (entry.dev) extra.dev = true;
    packages[key] = extra;
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform entries to ${LOCK}`);
