// Test support: Gramine's manifest schema (python/graminelibos/manifest_check.py, Gramine v1.9),
// the keys and value shapes it accepts, transcribed for the keys a manifest of ours could use, so a
// test can check our template without Gramine installed (no Debian package of it exists).
// `gramine-manifest --check` is the real check; this one only keeps the template within it.

export type Manifest = { [key: string]: unknown };

/** Leaf keys the schema knows (a trailing `*` takes any name at that level). */
const KNOWN = new Set([
  "fs.mounts",
  "fs.root",
  "fs.start_dir",
  "fs.insecure__keys.*",
  "libos.entrypoint",
  "libos.check_invalid_pointers",
  "loader.entrypoint",
  "loader.argv",
  "loader.argv_src_file",
  "loader.env.*",
  "loader.env_src_file",
  "loader.gid",
  "loader.uid",
  "loader.insecure__use_cmdline_argv",
  "loader.insecure__use_host_env",
  "loader.insecure__disable_aslr",
  "loader.log_file",
  "loader.log_level",
  "sgx.allowed_files",
  "sgx.debug",
  "sgx.edmm_enable",
  "sgx.enable_stats",
  "sgx.enclave_size",
  "sgx.file_check_policy",
  "sgx.isvprodid",
  "sgx.isvsvn",
  "sgx.max_threads",
  "sgx.preheat_enclave",
  "sgx.remote_attestation",
  "sgx.trusted_files",
  "sgx.use_exinfo",
  "sys.stack.size",
  "sys.brk.max_size",
  "sys.fds.limit",
  "sys.disallow_subprocesses",
  "sys.enable_sigterm_injection",
  "sys.insecure__allow_eventfd",
]);
const LOG_LEVELS = ["none", "error", "warning", "debug", "trace", "all"];
const ATTESTATION = ["none", "dcap"];
const MOUNT_TYPES = ["chroot", "encrypted", "tmpfs", "untrusted_shm"];

const isTable = (value: unknown): value is Manifest =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Dotted leaf keys, descending only into tables that are not values of a known key. */
function leaves(table: Manifest, prefix = ""): string[] {
  return Object.entries(table).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    if (KNOWN.has(path) || !isTable(value)) return [path];
    return leaves(value, `${path}.`);
  });
}

const known = (path: string) => KNOWN.has(path) || KNOWN.has(`${path.slice(0, path.lastIndexOf("."))}.*`);

/** What the schema would refuse, one sentence each (empty: accepted). */
export function gramineSchemaProblems(manifest: Manifest): string[] {
  const problems = leaves(manifest)
    .filter((path) => !known(path))
    .map((path) => `${path} is no manifest key`);
  const loader = (manifest.loader ?? {}) as Manifest;
  const entrypoint = loader.entrypoint;
  if (!isTable(entrypoint) || typeof entrypoint.uri !== "string")
    problems.unshift("loader.entrypoint is a table with uri (Gramine 1.8 and later)");
  if (loader.log_level !== undefined && !LOG_LEVELS.includes(loader.log_level as string))
    problems.push(`loader.log_level is one of ${LOG_LEVELS.join(", ")}`);
  if (typeof (manifest.libos as Manifest | undefined)?.entrypoint !== "string")
    problems.push("libos.entrypoint is required");
  const mounts = (manifest.fs as Manifest | undefined)?.mounts;
  if (!Array.isArray(mounts)) problems.push("fs.mounts is required");
  for (const mount of Array.isArray(mounts) ? mounts : []) {
    const { type = "chroot", path, uri } = mount as Manifest;
    if (!MOUNT_TYPES.includes(type as string) || typeof path !== "string" || !path.startsWith("/"))
      problems.push(`fs.mounts entry ${JSON.stringify(mount)} has no known type or absolute path`);
    else if (type !== "tmpfs" && typeof uri !== "string")
      problems.push(`fs.mounts entry at ${path} needs a uri`);
  }
  const sgx = (manifest.sgx ?? {}) as Manifest;
  if (sgx.remote_attestation !== undefined && !ATTESTATION.includes(sgx.remote_attestation as string))
    problems.push(`sgx.remote_attestation is none or dcap, not ${String(sgx.remote_attestation)}`);
  for (const file of (sgx.trusted_files ?? []) as unknown[]) {
    const entry = isTable(file) ? file : { uri: file };
    const extra = Object.keys(entry).filter((key) => key !== "uri" && key !== "sha256");
    if (typeof entry.uri !== "string" || extra.length > 0)
      problems.push(`sgx.trusted_files entry ${JSON.stringify(file)} is a URI or { uri, sha256 }`);
  }
  for (const key of ["max_threads", "isvprodid", "isvsvn"])
    if (sgx[key] !== undefined && !Number.isInteger(sgx[key])) problems.push(`sgx.${key} is an integer`);
  return problems;
}
