// The one way the enclave bundle may start a thread: `new Worker(new URL(import.meta.url))`, the
// bundle itself again (its signature workers, src/enclave/signature-pool.ts), optionally with
// `{ workerData }` and nothing else (no `eval`, `execArgv`, `env`, which could bring other code).
// bundle-guard.ts lets `node:worker_threads` in only through this check: a static import of named
// bindings from the few below, and every use of the `Worker` binding in exactly that form. A
// namespace or default import, `require` or `import()` of it stays refused as any code-loading built-in.

/** What the bundle may import from `node:worker_threads`: `Worker` (checked at each use) and the worker's side. */
const WORKER_THREADS_BINDINGS = new Set(["Worker", "isMainThread", "parentPort", "workerData", "threadId"]);

export const isWorkerThreads = (name: string): boolean => name.replace(/^node:/, "") === "worker_threads";

/** A static import's bindings as esbuild prints them: `{ a, b as c }`. */
const NAMED_BINDINGS = /^import\s*\{([^}]*)\}\s*from\s*$/;
/** The one form a `Worker` may be made in, with `LOCAL` its binding. */
const SELF_WORKER = (local: string) =>
  new RegExp(
    `^new\\s+${local.replaceAll("$", "\\$")}\\s*\\(\\s*new\\s+URL\\s*\\(\\s*import\\.meta\\.url\\s*\\)\\s*` +
      "(?:,\\s*\\{\\s*workerData(?:\\s*:\\s*[\\w$]+)?\\s*\\}\\s*)?\\)",
  );
const NEW_BEFORE = /new\s+$/;
const TYPEOF_BEFORE = /typeof\s+$/;
const LOOKBACK = 16;

type Offend = (what: string, index: number) => void;

/**
 * Checks one static import of `node:worker_threads` (`head` is the statement up to the name's
 * quote, at `index` in the bundle) and returns the local names bound to `Worker`.
 */
export function workerBindings(head: string, index: number, offend: Offend): string[] {
  const named = NAMED_BINDINGS.exec(head.trim());
  if (!named) {
    offend("import of node:worker_threads other than named bindings", index);
    return [];
  }
  const locals: string[] = [];
  for (const binding of named[1]!.split(",").map((b) => b.trim())) {
    if (binding === "") continue;
    const [imported, local = imported] = binding.split(/\s+as\s+/) as [string, string?];
    if (!WORKER_THREADS_BINDINGS.has(imported))
      offend(`import of ${imported} from node:worker_threads`, index);
    else if (imported === "Worker") locals.push(local);
  }
  return locals;
}

/**
 * Every use of a `Worker` binding (`locals`) in the masked `code` outside its import (`imports`:
 * the statements' ranges): `new Worker(new URL(import.meta.url))` alone, or `typeof` of it.
 */
export function workerUses(
  code: string,
  locals: readonly string[],
  imports: readonly [number, number][],
  offend: Offend,
): void {
  for (const local of new Set(locals)) {
    const self = SELF_WORKER(local);
    const use = new RegExp(`(?<![\\w$.])${local.replaceAll("$", "\\$")}(?![\\w$])`, "g");
    for (const m of code.matchAll(use)) {
      if (imports.some(([from, to]) => m.index >= from && m.index < to)) continue;
      const before = code.slice(Math.max(0, m.index - LOOKBACK), m.index);
      if (TYPEOF_BEFORE.test(before)) continue;
      const start = NEW_BEFORE.exec(before);
      if (start && self.test(code.slice(m.index - start[0].length))) continue;
      offend(
        "a Worker of other code than the bundle itself (only new Worker(new URL(import.meta.url)))",
        m.index,
      );
    }
  }
}
