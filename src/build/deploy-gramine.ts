// What an operator deploys on Intel SGX under Gramine: a manifest template, in Gramine's TOML syntax
// (Gramine 1.8 or later: `loader.entrypoint` as a table), for `gramine-manifest` then
// `gramine-sgx-sign`. It runs Node on the enclave bundle with the arguments fixed in the manifest, so
// the host can pass Node no flag (an `--inspect` would open the enclave's memory) and no environment
// (a NODE_OPTIONS would load code from outside the measurement).
//
// Based on Gramine's own Node.js example (gramineproject/examples, nodejs/nodejs.manifest.template:
// Node expects a large address space, 32 threads) and its manifest reference
// (Documentation/manifest-syntax.rst, v1.9) for every key; each is one `manifest_check.py` accepts.
// Our part is deterministic: the same bundle gives the same template, byte for byte, wherever it is
// built (no absolute path of the build machine, no date). MRENCLAVE also covers what only the signing
// machine has (Gramine's runtime, the Node binary, two system libraries), so only `gramine-sgx-sign`
// computes it; the deployment text says how.
import { basename, dirname, join } from "node:path";
import { GRAMINE_ATTESTATION_DIR, GRAMINE_FILES } from "../enclave/platforms/gramine-sgx-platform.js";
import { type TomlEntry, tomlDocument } from "./toml-lines.js";

/** The attestation type the adapter requires (`attestation_type` must read this). */
export const GRAMINE_REMOTE_ATTESTATION = "dcap";
/** Where things are inside the enclave's file system. */
export const GRAMINE_PATHS = {
  node: "/anonify/node",
  bundle: "/anonify/enclave.mjs",
  data: "/data",
  runtime: "/lib",
  systemLibraries: "/lib/x86_64-linux-gnu",
  tmp: "/tmp",
} as const;
/** What the operator puts beside the bundle, named relative to the directory Gramine runs in. */
export const GRAMINE_HOST_NAMES = { node: "node", data: "data" } as const;
/**
 * What the official Node 20 linux-x64 build links beyond glibc (its `ldd`): Gramine's runtime
 * directory supplies glibc (libc, libm, libdl, libpthread, the loader); these two come from the system.
 */
export const NODE_SYSTEM_LIBRARIES = ["libstdc++.so.6", "libgcc_s.so.1"] as const;
/** Without EDMM the whole enclave is committed at start: Node reserves ~2 GiB of heap at start-up (Gramine's example uses 2G), plus the enclave's own state. */
export const GRAMINE_ENCLAVE_SIZE = "4G";
/** Node's main thread, V8's 4 platform workers, libuv's 4, their helpers and Gramine's own (Gramine's Node example uses 32). */
export const GRAMINE_MAX_THREADS = 32;
/** V8 assumes about 1 MiB of stack (its --stack-size, 984 KiB); Gramine's default is 256K, too small for it. */
export const GRAMINE_STACK_SIZE = "2M";
const MANIFEST_SUFFIX = ".manifest.template";
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What the template pins of the build: the bundle by its name beside the template and its SHA-256. */
export type GramineBundle = {
  /** The bundle's file name (in the directory the template is written to). */
  file: string;
  /** Hex, no 0x. */
  sha256: string;
  release: string;
  app: { name: string; id: string };
};

/** The name Gramine knows the enclave by (`gramine-sgx NAME`): the bundle's file name without its extension. */
export function gramineName(bundleFile: string): string {
  const name = basename(bundleFile).replace(/\.[^.]*$/, "");
  const taken = Object.values(GRAMINE_HOST_NAMES) as string[];
  if (name === "" || taken.includes(basename(bundleFile)) || taken.includes(name))
    throw new Error(
      `a gramine-sgx bundle is named other than ${taken.join(" or ")} (they sit beside it): not ${JSON.stringify(basename(bundleFile))}`,
    );
  return name;
}

/** The manifest's entries, in order. */
export function gramineManifestEntries(bundle: GramineBundle): TomlEntry[] {
  if (!SHA256_HEX.test(bundle.sha256))
    throw new TypeError(`bundle sha256 must be 64 hex digits, not ${bundle.sha256}`);
  const system = (library: string) => `file:${GRAMINE_PATHS.systemLibraries}/${library}`;
  return [
    {
      key: "loader.entrypoint.uri",
      value: "file:{{ gramine.libos }}",
      why: "Gramine's LibOS (the default, named so the manifest says what it runs).",
    },
    { key: "libos.entrypoint", value: GRAMINE_PATHS.node },
    {
      key: "loader.argv",
      value: [GRAMINE_PATHS.node, GRAMINE_PATHS.bundle, "--data-dir", GRAMINE_PATHS.data],
      why: "Fixed here, so measured: never loader.insecure__use_cmdline_argv (the host would choose Node's flags).",
    },
    {
      key: "loader.env.LD_LIBRARY_PATH",
      value: `${GRAMINE_PATHS.runtime}:${GRAMINE_PATHS.systemLibraries}`,
      why: "The only environment: never loader.insecure__use_host_env (NODE_OPTIONS would load code).",
    },
    { key: "loader.log_level", value: "error", why: "Gramine: only `error` is suitable for production." },
    {
      key: "fs.mounts",
      value: [
        { path: GRAMINE_PATHS.runtime, uri: "file:{{ gramine.runtimedir() }}" },
        { path: GRAMINE_PATHS.systemLibraries, uri: `file:${GRAMINE_PATHS.systemLibraries}` },
        { path: GRAMINE_PATHS.node, uri: `file:${GRAMINE_HOST_NAMES.node}` },
        { path: GRAMINE_PATHS.bundle, uri: `file:${bundle.file}` },
        { path: GRAMINE_PATHS.data, uri: `file:${GRAMINE_HOST_NAMES.data}` },
        { type: "tmpfs", path: GRAMINE_PATHS.tmp },
      ],
      why: [
        `${GRAMINE_PATHS.data}: the --data-dir the enclave is given, a plain host directory (allowed, not trusted).`,
        "What the enclave keeps is sealed by the enclave itself (keys from /dev/attestation/keys through HKDF)",
        "and stored by its host; nothing there is trusted. /dev/attestation is Gramine's own, not a mount.",
      ].join("\n"),
    },
    { key: "sys.stack.size", value: GRAMINE_STACK_SIZE },
    {
      key: "sgx.debug",
      value: false,
      why: "A debug enclave's memory is readable: the production policy refuses its quotes.",
    },
    { key: "sgx.edmm_enable", value: false },
    { key: "sgx.enclave_size", value: GRAMINE_ENCLAVE_SIZE },
    { key: "sgx.max_threads", value: GRAMINE_MAX_THREADS },
    {
      key: "sgx.remote_attestation",
      value: GRAMINE_REMOTE_ATTESTATION,
      why: `DCAP quotes through ${GRAMINE_ATTESTATION_DIR}/${GRAMINE_FILES.userReportData} and ${GRAMINE_FILES.quote}: the adapter refuses any other ${GRAMINE_FILES.attestationType}.`,
    },
    {
      key: "sgx.trusted_files",
      value: [
        "file:{{ gramine.runtimedir() }}/",
        ...NODE_SYSTEM_LIBRARIES.map(system),
        `file:${GRAMINE_HOST_NAMES.node}`,
        { uri: `file:${bundle.file}`, sha256: bundle.sha256 },
      ],
      why: "Hashed by gramine-sgx-sign, checked by Gramine at every open; the bundle's hash is pinned here by the build.",
    },
    { key: "sgx.allowed_files", value: [`file:${GRAMINE_HOST_NAMES.data}/`] },
  ];
}

/** The template's text: a header naming the build and how to sign it, then the entries. */
export function gramineManifestTemplate(bundle: GramineBundle): string {
  const name = gramineName(bundle.file);
  return tomlDocument(
    [
      `Anonify enclave under Gramine-SGX (Gramine 1.8 or later), written by anonify enclave build --platform gramine-sgx.`,
      `Release ${bundle.release}; app ${bundle.app.name} (${bundle.app.id}); bundle ${bundle.file}, sha256 ${bundle.sha256}.`,
      "",
      ...gramineSteps(name).map((step) => `  ${step}`),
    ],
    gramineManifestEntries(bundle),
  );
}

/** The commands, in the directory holding the template, the bundle, `node` and `data/`. */
export function gramineSteps(name: string): string[] {
  return [
    `gramine-manifest ${name}${MANIFEST_SUFFIX} ${name}.manifest`,
    `gramine-sgx-sign --manifest ${name}.manifest --output ${name}.manifest.sgx --key ENCLAVE_KEY.pem --date 0000-00-00`,
    `gramine-sgx-sigstruct-view --output-format=json ${name}.sig   # mr_enclave: the measurement to allow; mr_signer`,
    `gramine-sgx ${name}`,
  ];
}

/** Where the template goes (beside the bundle) and Gramine's name for the enclave. */
export function gramineTemplatePath(bundlePath: string): { name: string; path: string } {
  const name = gramineName(bundlePath);
  return { name, path: join(dirname(bundlePath), `${name}${MANIFEST_SUFFIX}`) };
}
