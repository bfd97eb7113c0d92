// The layering of docs/architecture.md ("## Layout") held against the code: one table says which
// folder may import which, and every import of every source file under src/, apps/ and web/ is
// checked against it. Tests (`*.test.ts`, type tests `*.test-d.ts`) and test support (`test-*.ts`)
// are not checked: a test may reach across layers to set one up. That no source file imports them is
// checked. Files whose names start with a dot (editors' and tools' scratch copies) are not read.
// Beside the table: it points one way (no cycle), each of its grants is used by some import, and it
// keeps the enclave side off src/host, src/cli and src/client; only src/group imports ts-mls; code
// that runs in the enclave's pure core or in the browser reaches no Node built-in; the enclave
// starts no process and opens no socket (it talks to its host only through frames on stdin/stdout),
// and touches files only through its platform.
// Imports are read from the text: `import … from "…"`, `export … from "…"`, `import "…"` at the
// start of a line, and `import("…")` with a string literal anywhere.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, posix, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The folders read, from the repository's root; generated code is skipped. */
const SOURCE_ROOTS = ["src", "apps", "web"];
const SKIPPED_FOLDERS = new Set(["node_modules", "generated"]);

/** The host's rooms, each a place of its own; every other folder under src/ is one place. */
const HOST_ROOMS = ["api", "chain-io", "commands", "snapshots"];

/** Constants and types only (platform numbers, TCB status names), which policy documents name. */
const VERDICT = "src/attestation/verdict.ts";

/**
 * Which places each place may import, beside itself: a place is a folder (`src/chain`, a host room
 * such as `src/host/api`, `apps`, `web`) or, where the rest of its folder is not allowed, one file.
 */
const ALLOWED: Record<string, readonly string[]> = {
  // The app model: the bottom layer, shared by every side.
  "src/app": [],
  // The wire format encodes values with the app's canonical encoding.
  "src/protocol": ["src/app", VERDICT],
  "src/boundary": ["src/app", "src/protocol"],
  "src/group": [],
  // Positions in the contract's event log compare as the protocol defines them.
  "src/chain": ["src/protocol"],
  // Attestation reports are digested as the contract digests them.
  "src/attestation": ["src/protocol"],
  // The enclave verifies its peers' quotes (and makes simulated ones); the one app it runs is the
  // module `anonify:app`, which its build resolves (src/build/app-bundle.ts).
  "src/enclave": ["src/app", "src/boundary", "src/group", "src/protocol", "src/attestation"],
  // The client judges enclaves from their evidence with the enclave's own verifiers and roots,
  // and reads the member set commitment of a handshake (its frames, not its MLS messages).
  "src/client": ["src/app", "src/attestation", "src/chain", "src/group/handshake-frames.ts", "src/protocol"],
  // The host asks the attestation service for its enclave's report, with the collateral the chain
  // holds for its quote found as a client finds it, and starts the measured bundle where the build
  // leaves it.
  "src/host": [
    "src/boundary",
    "src/chain",
    "src/protocol",
    "src/attestation",
    "src/client/published-collateral.ts",
    "src/build",
    "src/host/api",
    "src/host/chain-io",
    "src/host/commands",
    "src/host/snapshots",
  ],
  // The web app the host serves reads the network profile's format (pure, no file I/O); the error
  // shape tells a chain outage as the failover transport does.
  "src/host/api": [
    "src/boundary",
    "src/chain",
    "src/protocol",
    "src/client/network-profile-format.ts",
    "src/host",
    "src/host/commands",
    "src/host/snapshots",
  ],
  "src/host/chain-io": [
    "src/boundary",
    "src/chain",
    "src/protocol",
    "src/host",
    "src/host/commands",
    "src/host/snapshots",
  ],
  "src/host/commands": ["src/boundary", "src/chain", "src/protocol", "src/host"],
  "src/host/snapshots": ["src/boundary", "src/chain", "src/protocol", "src/host", "src/host/chain-io"],
  // Operator actions share the host's contract writes and registration state, write network
  // profiles, and deploy the bundle the build measured.
  "src/operator": [
    "src/attestation",
    "src/build",
    "src/chain",
    "src/client",
    "src/host",
    "src/host/chain-io",
    "src/protocol",
  ],
  // The devnet and the CLI sit on top: they start and wire the rest (`anonify wallet serve` serves
  // the page a node serves, src/host/api/web-app.ts).
  "src/devnet": ["src/attestation", "src/chain", "src/client", "src/host", "src/host/api", "src/operator"],
  // The enclave bundle is built from the enclave, the call table and one app, found by its folder
  // and read as an app (src/app) from its own bundle.
  "src/build": ["src/app", "src/boundary", "src/enclave", "src/protocol"],
  "src/cli": [
    "src/app",
    "src/attestation",
    "src/boundary",
    "src/build",
    "src/chain",
    "src/client",
    "src/devnet",
    "src/host",
    "src/host/api",
    "src/operator",
    "src/protocol",
  ],
  apps: ["src/app"],
  // The web app reads the contract's ABI and nothing else of src/chain.
  web: ["apps", "src/app", "src/client", "src/chain/generated/contracts.ts"],
};

/** The folders on the enclave side, which import nothing of src/host, src/cli or src/client. */
const ENCLAVE_SIDE = ["src/enclave", "src/group", "src/app", "src/boundary", "src/protocol"];
const OFF_LIMITS_TO_ENCLAVE_SIDE = ["src/host", "src/cli", "src/client"];

/** npm packages only some places may import. */
const ONLY_IMPORTED_FROM: Record<string, readonly string[]> = { "ts-mls": ["src/group"] };

/**
 * Code that runs in the enclave's pure core or in the browser (the client SDK runs in both; its
 * file I/O is in network-profile.ts alone): it reaches no Node built-in, directly or through what
 * it imports at run time (`import type` is erased).
 */
const PORTABLE = [
  "src/app/",
  "src/protocol/",
  "src/boundary/",
  "src/group/",
  "src/client/",
  "apps/",
  "web/src/",
  // The enclave's intake of signed commands and queries and its sealed replies.
  "src/enclave/signed-messages.ts",
  "src/enclave/signature-check.ts",
  "src/enclave/replies.ts",
  VERDICT,
  // The evidence verifiers the client loads to judge real hardware (src/client/verifiers.ts), and
  // the DCAP collateral it reads from the chain (src/client/chain-checks.ts).
  "src/attestation/dcap.ts",
  "src/attestation/dcap/",
  "src/attestation/nitro.ts",
  "src/attestation/sev-snp.ts",
  "src/attestation/sev-snp/",
  "src/attestation/held-collateral.ts",
];
const NOT_PORTABLE = [
  "src/client/network-profile.ts",
  // The package's Node entry (`anonify/client/node`): the profile's file I/O and the WebAssembly signer.
  "src/client/index-node.ts",
];

/** What the enclave may not import: its only channel is the host's frames on stdin/stdout. */
const ENCLAVE_FORBIDDEN_BUILTINS = new Set([
  "child_process",
  "cluster",
  "dgram",
  "dns",
  "http",
  "http2",
  "https",
  "net",
  "tls",
]);

/**
 * The enclave's only files are its platform's: the host owns the disk (everything on it may be
 * forged), so the enclave reads and writes files only where its platform is (the sim platform's
 * secret, the hardware adapters' kernel interfaces) and where its entry point measures its own bundle.
 */
const ENCLAVE_FILE_ACCESS = ["src/enclave/main.ts", "src/enclave/sim-platform.ts", "src/enclave/platforms/"];

/** Imports the table forbids that the code still has: each is to be fixed, then removed from here. */
const KNOWN_VIOLATIONS: readonly { file: string; specifier: string; fix: string }[] = [];

type Import = { readonly specifier: string; readonly typeOnly: boolean };
type Module = { readonly path: string; readonly imports: readonly Import[] };
type Violation = { readonly file: string; readonly specifier: string; readonly rule: string };

const STATIC_IMPORT = /^[ \t]*(?:import|export)(\s+type\b)?[\w\s{},*$]*?\sfrom\s*["']([^"']+)["']/gm;
const BARE_IMPORT = /^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(source: string): Import[] {
  return [
    ...[...source.matchAll(STATIC_IMPORT)].map((m) => ({ specifier: m[2]!, typeOnly: m[1] !== undefined })),
    ...[...source.matchAll(BARE_IMPORT)].map((m) => ({ specifier: m[1]!, typeOnly: false })),
    ...[...source.matchAll(DYNAMIC_IMPORT)].map((m) => ({ specifier: m[1]!, typeOnly: false })),
  ];
}

const isTestCode = (path: string) => /(^|\/)test-[^/]*\.ts$|\.test(-d)?\.ts$/.test(path);

/** The place a file belongs to: `src/<folder>`, `src/host/<room>`, or its root folder outside src. */
function placeOf(path: string): string {
  const [top, folder, room] = path.split("/");
  if (top !== "src") return top!;
  if (folder === "host" && room !== undefined && HOST_ROOMS.includes(room)) return `src/host/${room}`;
  return `src/${folder}`;
}

/** The repository path a relative specifier names, as its .ts source. */
function resolveRelative(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, ".ts");
}

/** The npm package or Node built-in a bare specifier names. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

const isNodeBuiltin = (specifier: string) => specifier.startsWith("node:") || isBuiltin(specifier);
const isPortable = (path: string) =>
  PORTABLE.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p)) && !NOT_PORTABLE.includes(path);

/** Every import of `modules` that breaks a rule; `modules` are non-test source files. */
function checkLayout(modules: readonly Module[]): Violation[] {
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const violations: Violation[] = [];
  const reachesNode = nodeReach(byPath);
  for (const { path, imports } of modules) {
    const place = placeOf(path);
    const allowed = ALLOWED[place];
    if (allowed === undefined) {
      violations.push({ file: path, specifier: "", rule: `${place} is not in the layout table` });
    }
    for (const { specifier, typeOnly } of imports) {
      const broken = (rule: string) => violations.push({ file: path, specifier, rule });
      if (!specifier.startsWith(".")) {
        const name = packageOf(specifier.replace(/^node:/, ""));
        if (isNodeBuiltin(specifier)) {
          if (isPortable(path)) broken("portable code imports no Node built-in");
          if (place === "src/enclave" && ENCLAVE_FORBIDDEN_BUILTINS.has(name)) {
            broken("the enclave starts no process and opens no socket");
          }
          if (
            place === "src/enclave" &&
            name === "fs" &&
            !ENCLAVE_FILE_ACCESS.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p))
          ) {
            broken("the enclave touches files only through its platform");
          }
        } else {
          const owners = ONLY_IMPORTED_FROM[name];
          if (owners && !owners.includes(place)) broken(`only ${owners.join(", ")} imports ${name}`);
        }
        continue;
      }
      const target = resolveRelative(path, specifier);
      if (isTestCode(target)) {
        broken("source imports no test code");
        continue;
      }
      const targetPlace = placeOf(target);
      if (allowed && targetPlace !== place && !allowed.includes(targetPlace) && !allowed.includes(target)) {
        broken(`${place} may not import ${targetPlace}`);
      }
      // Reported where portable code first steps outside: a portable target reports its own imports.
      if (!typeOnly && isPortable(path) && !isPortable(target)) {
        const builtin = reachesNode(target);
        if (builtin) broken(`portable code reaches no Node built-in (this reaches ${builtin})`);
      }
    }
  }
  return violations;
}

/** For a file, the first Node built-in it reaches at run time (through files of `byPath`), if any. */
function nodeReach(byPath: ReadonlyMap<string, Module>): (path: string) => string | undefined {
  const memo = new Map<string, string | undefined>();
  const reach = (path: string): string | undefined => {
    if (memo.has(path)) return memo.get(path);
    memo.set(path, undefined); // a cycle adds nothing new
    let found: string | undefined;
    for (const { specifier, typeOnly } of byPath.get(path)?.imports ?? []) {
      if (typeOnly) continue;
      if (isNodeBuiltin(specifier)) found = `${specifier} in ${path}`;
      else if (specifier.startsWith(".")) found = reach(resolveRelative(path, specifier));
      if (found) break;
    }
    memo.set(path, found);
    return found;
  };
  return reach;
}

/** The grants of the table that no import of `modules` uses. */
function unusedGrants(modules: readonly Module[]): string[] {
  const used = new Set<string>();
  for (const { path, imports } of modules) {
    for (const { specifier } of imports) {
      if (!specifier.startsWith(".")) continue;
      const target = resolveRelative(path, specifier);
      used.add(`${placeOf(path)} -> ${target}`);
      used.add(`${placeOf(path)} -> ${placeOf(target)}`);
    }
  }
  return Object.entries(ALLOWED)
    .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
    .filter((grant) => !used.has(grant));
}

/** A cycle among the table's layers (the host's rooms count as the host; a granted file is a leaf). */
function cycleIn(table: Record<string, readonly string[]>): string[] | undefined {
  const layer = (place: string) => (place.startsWith("src/host/") ? "src/host" : place);
  const edges = new Map<string, Set<string>>();
  for (const [from, tos] of Object.entries(table)) {
    const out = edges.get(layer(from)) ?? new Set<string>();
    for (const to of tos) if (layer(to) !== layer(from)) out.add(layer(to));
    edges.set(layer(from), out);
  }
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next, [...path, node]);
      if (cycle) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Every place the table lets `from` reach, through any number of grants (a file counts as its folder). */
function reachableFrom(from: string): Set<string> {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0) {
    for (const to of ALLOWED[queue.pop()!] ?? []) {
      const place = to.endsWith(".ts") ? placeOf(to) : to;
      if (seen.has(place)) continue;
      seen.add(place);
      queue.push(place);
    }
  }
  return seen;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.startsWith(".") ? [path] : [];
  });
}

function readModules(): Module[] {
  return SOURCE_ROOTS.flatMap((top) => sourceFiles(join(ROOT, top)))
    .map((file) => relative(ROOT, file).split("\\").join("/"))
    .filter((path) => !isTestCode(path))
    .sort()
    .map((path) => ({ path, imports: importsOf(readFileSync(join(ROOT, path), "utf8")) }));
}

const describeViolation = ({ file, specifier, rule }: Violation) =>
  `${file}: ${specifier ? `import "${specifier}" — ` : ""}${rule}`;
const isKnown = (v: Violation) =>
  (v.rule.includes(" may not import ") || v.rule.includes("reaches no Node built-in")) &&
  KNOWN_VIOLATIONS.some((k) => k.file === v.file && k.specifier === v.specifier);

describe("layout", () => {
  const modules = readModules();

  it("reads the source", () => {
    assert.ok(modules.length > 100, `only ${modules.length} source files found`);
    assert.ok(modules.some((m) => m.path === "src/group/mls.ts" && m.imports.length > 0));
  });

  it("names only files that exist", () => {
    const paths = new Set(modules.map((m) => m.path));
    const named = [...PORTABLE, ...NOT_PORTABLE, ...KNOWN_VIOLATIONS.map((k) => k.file)];
    assert.deepEqual(
      named.filter((p) => p.endsWith(".ts") && !paths.has(p)),
      [],
      "renamed or removed: update the rules",
    );
  });

  it("every import keeps to the layout", () => {
    const violations = checkLayout(modules);
    assert.deepEqual(violations.filter((v) => !isKnown(v)).map(describeViolation), []);
    const fixed = KNOWN_VIOLATIONS.filter(
      (k) => !violations.some((v) => isKnown(v) && v.file === k.file && v.specifier === k.specifier),
    );
    assert.deepEqual(
      fixed.map((k) => `${k.file}: import "${k.specifier}" is gone; remove it from KNOWN_VIOLATIONS`),
      [],
    );
  });

  it("the table grants only what the code uses", () => {
    assert.deepEqual(unusedGrants(modules), []);
  });

  it("the table points one way", () => {
    assert.equal(cycleIn(ALLOWED)?.join(" -> "), undefined);
  });

  it("the table keeps the enclave side off src/host, src/cli and src/client", () => {
    for (const side of ENCLAVE_SIDE) {
      for (const place of reachableFrom(side)) {
        assert.ok(
          !OFF_LIMITS_TO_ENCLAVE_SIDE.some((p) => place === p || place.startsWith(`${p}/`)),
          `${side} reaches ${place}`,
        );
      }
    }
  });
});

describe("the layout checker", () => {
  const check = (path: string, ...specifiers: string[]) =>
    checkLayout([{ path, imports: specifiers.map((specifier) => ({ specifier, typeOnly: false })) }]).map(
      describeViolation,
    );

  it("reads static, re-exported, bare and dynamic imports, not commented ones", () => {
    const source = [
      'import { a,\n  b } from "./multi-line.js";',
      'import type { T } from "../types.js";',
      'export * from "./all.js";',
      'export { type U, v } from "./some.js";',
      'import "reflect-metadata";',
      '  const m = await import("@scope/pkg/sub.js");',
      '// import { gone } from "./commented.js";',
      ' * import { gone } from "./in-a-doc-comment.js";',
      'const s = "import";',
    ].join("\n");
    assert.deepEqual(
      importsOf(source).map((i) => `${i.specifier}${i.typeOnly ? " (type)" : ""}`),
      [
        "./multi-line.js",
        "../types.js (type)",
        "./all.js",
        "./some.js",
        "reflect-metadata",
        "@scope/pkg/sub.js",
      ],
    );
  });

  it("places files and packages", () => {
    assert.equal(placeOf("src/host/api/api.ts"), "src/host/api");
    assert.equal(placeOf("src/host/node-host.ts"), "src/host");
    assert.equal(placeOf("src/enclave/calls/group.ts"), "src/enclave");
    assert.equal(placeOf("web/src/main.ts"), "web");
    assert.equal(resolveRelative("src/host/api/web-app.ts", "../../client/x.js"), "src/client/x.ts");
    assert.equal(packageOf("@noble/hashes/sha2.js"), "@noble/hashes");
    assert.equal(packageOf("viem/actions"), "viem");
    assert.ok(
      isTestCode("src/a/b.test.ts") && isTestCode("src/a/b.test-d.ts") && isTestCode("src/a/test-chain.ts"),
    );
    assert.ok(!isTestCode("src/a/attest.ts") && !isTestCode("src/a/latest-tests.ts"));
  });

  it("names the file, the import and the rule broken", () => {
    assert.deepEqual(check("src/enclave/x.ts", "../host/node-host.js", "../cli/main.js", "node:net"), [
      'src/enclave/x.ts: import "../host/node-host.js" — src/enclave may not import src/host',
      'src/enclave/x.ts: import "../cli/main.js" — src/enclave may not import src/cli',
      'src/enclave/x.ts: import "node:net" — the enclave starts no process and opens no socket',
    ]);
    assert.deepEqual(check("src/enclave/x.ts", "node:fs/promises"), [
      'src/enclave/x.ts: import "node:fs/promises" — the enclave touches files only through its platform',
    ]);
    assert.deepEqual(check("src/enclave/platforms/x.ts", "node:fs/promises"), []);
    assert.deepEqual(check("src/host/x.ts", "ts-mls", "../client/network-profile.js"), [
      'src/host/x.ts: import "ts-mls" — only src/group imports ts-mls',
      'src/host/x.ts: import "../client/network-profile.js" — src/host may not import src/client',
    ]);
    assert.deepEqual(check("src/protocol/x.ts", "node:fs", "../attestation/policy.js", "./y.test.js"), [
      'src/protocol/x.ts: import "node:fs" — portable code imports no Node built-in',
      'src/protocol/x.ts: import "../attestation/policy.js" — src/protocol may not import src/attestation',
      'src/protocol/x.ts: import "./y.test.js" — source imports no test code',
    ]);
    assert.deepEqual(check("src/newfolder/x.ts", "viem"), [
      "src/newfolder/x.ts: src/newfolder is not in the layout table",
    ]);
    assert.deepEqual(
      check("src/host/api/x.ts", "../../client/network-profile-format.js", "../node-host.js"),
      [],
    );
  });

  it("follows portable code into what it imports at run time", () => {
    const modules: Module[] = [
      {
        path: "web/src/a.ts",
        imports: [{ specifier: "../../src/client/network-profile.js", typeOnly: false }],
      },
      {
        path: "web/src/b.ts",
        imports: [{ specifier: "../../src/client/network-profile.js", typeOnly: true }],
      },
      { path: "src/client/network-profile.ts", imports: [{ specifier: "node:fs", typeOnly: false }] },
    ];
    assert.deepEqual(checkLayout(modules).map(describeViolation), [
      'web/src/a.ts: import "../../src/client/network-profile.js" — portable code reaches no Node built-in (this reaches node:fs in src/client/network-profile.ts)',
    ]);
  });

  it("finds a cycle in a table", () => {
    assert.deepEqual(cycleIn({ a: ["b"], b: ["c"], c: ["a"] }), ["a", "b", "c", "a"]);
    assert.equal(cycleIn({ "src/host": ["src/host/api"], "src/host/api": ["src/host"] }), undefined);
  });
});
