// The measured bundle runs only measured code: after esbuild, the build refuses a bundle that could
// load code from anywhere but itself: a module left for Node to find on disk (the metafile's
// external imports, other than Node's built-ins), a built-in that loads or runs code (`vm`,
// `module`, `child_process`…), `require` or `import()` of a computed name, a native addon
// (`dlopen`), WebAssembly compiled from bytes not inlined by the build, or `eval`/`Function` of a
// string not written in the bundle itself. Reading files (node:fs) is data, and allowed. A thread
// may run the bundle itself again and nothing else (worker-guard.ts).
// The text scan sees what a reader sees: an alias of `Function` or a name built from pieces at
// run time is beyond it; `require` is also held at run time (BUILTINS_ONLY_REQUIRE).
import { isBuiltin } from "node:module";
import type { Metafile } from "esbuild";
import { maskLiterals } from "./code-mask.js";
import { isWorkerThreads, workerBindings, workerUses } from "./worker-guard.js";

/** Built-ins that load or run code: with them, code from outside the bundle could run in the enclave. */
export const CODE_LOADING_BUILTINS: readonly string[] = [
  "module", // createRequire, Module._load, loader hooks: any file from disk
  "vm", // code compiled from strings
  "child_process", // programs from disk
  "cluster", // forks the process to run a script
  "worker_threads", // a Worker runs a file or a string (only the bundle itself: worker-guard.ts)
  "inspector", // evaluates code in the process
  "repl",
  "wasi",
];

/** Why a module named in the bundle may not be loaded. */
const refused = (name: string): string =>
  isBuiltin(name)
    ? `the built-in "${name}", which loads code`
    : `"${name}", a module Node would find on disk`;

const isCodeLoading = (name: string): boolean =>
  CODE_LOADING_BUILTINS.includes(name.replace(/^node:/, "").split("/")[0]!);

/** A module the enclave may take from Node itself: a built-in that loads no code. */
export const isAllowedBuiltin = (name: string): boolean => isBuiltin(name) && !isCodeLoading(name);

/**
 * The bundle's first lines: a `require` for its CommonJS dependencies that serves Node's built-ins
 * alone (by the list above), so that whatever shape a call takes, nothing from disk is loaded.
 */
export const BUILTINS_ONLY_REQUIRE = [
  'import { createRequire as __anonifyCreateRequire, isBuiltin as __anonifyIsBuiltin } from "node:module";',
  `const __anonifyCodeLoading = new Set(${JSON.stringify(CODE_LOADING_BUILTINS)});`,
  "const require = ((load) => (name) => {",
  "  const allowed = typeof name === 'string' && __anonifyIsBuiltin(name) &&",
  "    !__anonifyCodeLoading.has(name.replace(/^node:/, '').split('/')[0]);",
  "  if (!allowed) throw new Error('the enclave loads no code from outside its bundle: require(' + String(name) + ')');",
  "  return load(name);",
  "})(__anonifyCreateRequire(import.meta.url));",
].join("\n");

/** esbuild's own `__require`: it forwards to the `require` above (kept by text: a change is seen). */
const ESBUILD_REQUIRE_SHIM = `var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});`;

/** What could load code from outside the bundle, and where: a source file (esbuild names it) and line. */
export type Offence = { what: string; where: string };

export class BundleGuardError extends Error {
  override name = "BundleGuardError";
  constructor(readonly offences: readonly Offence[]) {
    super(
      `the enclave bundle can load code from outside itself (${offences.length}):\n` +
        offences.map((o) => `  - ${o.what} (${o.where})`).join("\n") +
        "\nleave the package out (src/build/enclave-resolution.ts) or remove the call",
    );
  }
}

const IMPORT_KINDS: Record<string, string> = {
  "import-statement": "import",
  "dynamic-import": "import()",
  "require-call": "require",
  "require-resolve": "require.resolve",
};

/**
 * The metafile's side: every module the output leaves outside itself is a built-in that loads no
 * code. (What esbuild parsed but shook out, viem's WebSocket transport with ws, is not in the output.)
 */
export function offencesInMetafile(metafile: Metafile): Offence[] {
  const offences: Offence[] = [];
  for (const output of Object.values(metafile.outputs)) {
    const inBundle = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0);
    for (const [file] of inBundle)
      if (file.endsWith(".node")) offences.push({ what: "a native addon", where: file });
    const seen = new Set<string>();
    for (const { path, kind, external } of output.imports) {
      // A static import of worker_threads is the text scan's to judge (worker-guard.ts).
      const selfWorker = kind === "import-statement" && isWorkerThreads(path);
      if (
        !external ||
        isAllowedBuiltin(path) ||
        selfWorker ||
        ESBUILD_VIRTUAL.test(path) ||
        seen.has(`${kind} ${path}`)
      )
        continue;
      seen.add(`${kind} ${path}`);
      const importers = inBundle
        .map(([file]) => file)
        .filter((file) => metafile.inputs[file]?.imports.some((i) => i.path === path && i.external));
      offences.push({
        what: `${IMPORT_KINDS[kind] ?? kind} of ${refused(path)}`,
        where: importers.join(", ") || "the bundle",
      });
    }
  }
  return offences;
}

/** esbuild's own modules, inside the bundle: its runtime helpers, and a `define` of an object. */
const ESBUILD_VIRTUAL = /^<(?:runtime|define:[\w$]+)>$/;
const REQUIRE = /(?<![\w$.])(?:__require|require)\b/g;
const DYNAMIC_IMPORT = /(?<![\w$.])import\s*\(/g;
/** A static import as esbuild prints one it left outside the bundle, up to its name's quote. */
const STATIC_IMPORT = /^(?:import|export)\s(?:[^;'"`]*?\sfrom\s*)?(?=["'])/gm;
/** A `require` for any file, wherever it comes from. */
const CREATE_REQUIRE = /\bcreateRequire\b/g;
const CODE_FROM_STRING = /(?<![\w$.])(?:eval|Function)\b/g;
/** esbuild's indirect call, `(0, eval)(…)`, as it prints it. */
const INDIRECT_EVAL = /^eval\)\s*\(/;
const WASM_COMPILE =
  /(?<![\w$.])WebAssembly\s*\.\s*(?:Module|compile|instantiate|compileStreaming|instantiateStreaming)\s*\(/g;
/** Anywhere, strings included: `process["dlopen"]` is as much a native addon as `process.dlopen`. */
const NATIVE_ADDON = /\bdlopen\b/g;
const TYPEOF = "typeof ";
/** The comment esbuild puts before each module: its path from the build's working directory. */
const MODULE_COMMENT = /^\/\/ (\S+\.(?:[cm]?[jt]sx?|json|wasm)|<[^>]+>|[\w-]+:\S+)$/gm;

const skipSpace = (code: string, i: number): number => {
  while (/\s/.test(code[i] ?? "")) i++;
  return i;
};

/** The plain string literal at `i` (its value, and where it ends), or undefined if none is there. */
function literalAt(code: string, text: string, i: number): { value: string; end: number } | undefined {
  const quote = code[i];
  if (quote !== '"' && quote !== "'" && quote !== "`") return undefined;
  const close = code.indexOf(quote, i + 1);
  const value = text.slice(i + 1, close);
  // An escape or a `${…}` is a name made at run time, or one hidden from a reader.
  if (close < 0 || value.includes("\\") || (quote === "`" && value.includes("${"))) return undefined;
  return { value, end: close + 1 };
}

/** A call's arguments from its `(`, if each is a plain literal (their values); else undefined. */
function literalArguments(code: string, text: string, open: number): string[] | undefined {
  const values: string[] = [];
  let i = skipSpace(code, open + 1);
  while (code[i] !== ")") {
    const literal = literalAt(code, text, i);
    if (!literal) return undefined;
    values.push(literal.value);
    i = skipSpace(code, literal.end);
    if (code[i] === ",") i = skipSpace(code, i + 1);
    else if (code[i] !== ")") return undefined;
  }
  return values;
}

/** Where `open`'s bracket closes, in masked code. */
function closingBracket(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if ("([{".includes(code[i]!)) depth++;
    else if (")]}".includes(code[i]!) && --depth === 0) return i;
  }
  return code.length;
}

/** `name(…) {`: a method of that name being defined, not called. */
const isMethodDefinition = (code: string, open: number): boolean =>
  /^\s*\{/.test(code.slice(closingBracket(code, open) + 1, closingBracket(code, open) + 80));

/** `{ name: …` or `, name: …`: an object's key, not the variable. */
const isPropertyKey = (code: string, at: number, length: number): boolean =>
  /[{,]\s*$/.test(code.slice(Math.max(0, at - 80), at)) &&
  /^\s*:/.test(code.slice(at + length, at + length + 80));

/** The bundle's text, read as code: what in it could bring code from outside. */
export function offencesInText(text: string): Offence[] {
  let code = maskLiterals(text);
  // Ours and esbuild's, reviewed as text: blanked so that their `require` is not taken for a use.
  for (const known of [BUILTINS_ONLY_REQUIRE, ESBUILD_REQUIRE_SHIM]) {
    const at = text.indexOf(known);
    if (at >= 0) code = code.slice(0, at) + " ".repeat(known.length) + code.slice(at + known.length);
  }
  const modules = [...text.matchAll(MODULE_COMMENT)].map((m) => ({ at: m.index, path: m[1]! }));
  const where = (index: number): string => {
    const line = text.slice(0, index).split("\n").length;
    const module = modules.findLast((m) => m.at < index);
    return module ? `${module.path}, bundle line ${line}` : `bundle line ${line}`;
  };
  const offences: Offence[] = [];
  const offend = (what: string, index: number) => offences.push({ what, where: where(index) });

  for (const m of code.matchAll(REQUIRE)) {
    if (code.slice(Math.max(0, m.index - TYPEOF.length), m.index) === TYPEOF) continue;
    if (isPropertyKey(code, m.index, m[0].length)) continue;
    const open = skipSpace(code, m.index + m[0].length);
    if (code[open] !== "(") offend(`${m[0]} used as a value (a call the scan cannot follow)`, m.index);
    else if (!isMethodDefinition(code, open)) {
      const [name, ...more] = literalArguments(code, text, open) ?? [];
      if (name === undefined || more.length > 0) offend(`${m[0]} of a computed name`, m.index);
      else if (!isAllowedBuiltin(name)) offend(`require of ${refused(name)}`, m.index);
    }
  }
  const workers: string[] = [];
  const workerImports: [number, number][] = [];
  for (const m of code.matchAll(STATIC_IMPORT)) {
    const name = literalAt(code, text, m.index + m[0].length)?.value;
    if (name !== undefined && isWorkerThreads(name)) {
      workers.push(...workerBindings(m[0], m.index, offend));
      workerImports.push([m.index, m.index + m[0].length]);
    } else if (name !== undefined && !isAllowedBuiltin(name)) offend(`import of ${refused(name)}`, m.index);
  }
  workerUses(code, workers, workerImports, offend);
  for (const m of code.matchAll(CREATE_REQUIRE)) offend("createRequire (a require for any file)", m.index);
  for (const m of code.matchAll(DYNAMIC_IMPORT)) {
    const open = m.index + m[0].length - 1;
    if (isMethodDefinition(code, open)) continue;
    // Only the name counts: a second argument is import attributes.
    const literal = literalAt(code, text, skipSpace(code, open + 1));
    const end = literal ? code[skipSpace(code, literal.end)] : undefined;
    if (!literal || (end !== ")" && end !== ",")) offend("import() of a computed name", m.index);
    else if (!isAllowedBuiltin(literal.value)) offend(`import() of ${refused(literal.value)}`, m.index);
  }
  for (const m of code.matchAll(CODE_FROM_STRING)) {
    const after = m.index + m[0].length;
    const indirect = m[0] === "eval" && INDIRECT_EVAL.test(code.slice(m.index, m.index + 16));
    const open = indirect ? code.indexOf("(", after) : after;
    if (code[open] !== "(") {
      // Function is also a value for `instanceof`; only `eval` as a value hides a call.
      if (m[0] === "eval") offend("eval used as a value (a call the scan cannot follow)", m.index);
    } else if (literalArguments(code, text, open) === undefined)
      offend(`${m[0]} of a string made at run time`, m.index);
  }
  for (const m of code.matchAll(WASM_COMPILE)) {
    const argument = /^\s*([\w$]+)\s*[),]/.exec(code.slice(m.index + m[0].length))?.[1];
    // The build's binary loader inlines a file as `var name = __toBinaryNode("…")`.
    const inlined =
      argument !== undefined &&
      new RegExp(`\\bvar ${argument.replaceAll("$", "\\$")} = __toBinary(?:Node)?\\(`).test(code);
    if (!inlined) offend("WebAssembly compiled from bytes the build did not inline", m.index);
  }
  for (const m of text.matchAll(NATIVE_ADDON)) offend("a native addon (dlopen)", m.index);
  return offences;
}

/** Refuses, by name, a bundle that could load code from outside itself. */
export function guardBundle(text: string, metafile?: Metafile): void {
  const offences = [...(metafile ? offencesInMetafile(metafile) : []), ...offencesInText(text)];
  if (offences.length > 0) throw new BundleGuardError(offences);
}
