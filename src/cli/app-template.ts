// What `anonify app new NAME` writes: a small working app (a count per account, read by its owner
// alone, and a total anyone reads), its tests through testApp, and a README. `from(module)` says
// where each module of the app model is imported from: in this repository's checkout, its sources
// (the enclave bundle must hold the very classes its executor checks for); elsewhere `anonify/app`.

/** The app model's modules a generated app imports, by what they hold. */
export type AppModelModule = "app" | "pmap" | "schema" | "test-app";

type Import = { readonly names: readonly string[]; readonly module: AppModelModule };

/** Import statements, one per specifier, names merged when two modules share one (`anonify/app`). */
function imports(list: readonly Import[], from: (module: AppModelModule) => string): string {
  const bySpecifier = new Map<string, string[]>();
  for (const { names, module } of list) {
    const specifier = from(module);
    bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), ...names]);
  }
  const sortKey = (name: string) => name.replace(/^type /, "").toLowerCase();
  return [...bySpecifier]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([specifier, names]) => {
      const sorted = names.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
      return `import { ${sorted.join(", ")} } from ${JSON.stringify(specifier)};`;
    })
    .join("\n");
}

export function appSource(name: string, from: (module: AppModelModule) => string): string {
  return `// ${name}, made by \`anonify app new\`: each account adds to a count of its own, which only it
// reads, with the block time of its last change; anyone reads the total. Change the state, the
// commands and the queries to make it yours (docs/apps.md); ${name}.test.ts drives it with testApp.
${imports(
  [
    { names: ["AppRejection", "type CommandContext", "defineApp"], module: "app" },
    { names: ["PersistentMap"], module: "pmap" },
    { names: ["object", "uint"], module: "schema" },
  ],
  from,
)}

/** An account: a lower-case address, from the signature of whoever sent the command. */
type Account = CommandContext["sender"];
/** One account's count and the block time (seconds) it last changed. */
export type Count = { readonly count: bigint; readonly at: bigint };
export type State = { readonly total: bigint; readonly counts: PersistentMap<Account, Count> };

/** The most one command adds: a rule of the app, refused with a reason only the sender reads. */
export const MAX_STEP = 100n;

export default defineApp({
  name: ${JSON.stringify(name)},
  initialState: (): State => ({ total: 0n, counts: PersistentMap.empty() }),
  commands: {
    add: {
      params: object({ by: uint() }),
      run(state, ctx, { by }) {
        if (by === 0n || by > MAX_STEP) throw new AppRejection(\`add 1 to \${MAX_STEP}\`);
        const mine = state.counts.get(ctx.sender)?.count ?? 0n;
        // A new state, never the old one changed: ctx.timestamp is the block time that ordered the command.
        return {
          total: state.total + by,
          counts: state.counts.set(ctx.sender, { count: mine + by, at: ctx.timestamp }),
        };
      },
    },
  },
  queries: {
    mine: { params: object({}), run: (state, ctx) => state.counts.get(ctx.sender) ?? null },
    total: { params: object({}), public: true, run: (state) => state.total },
  },
});
`;
}

export function testSource(name: string, from: (module: AppModelModule) => string): string {
  return `// ${name} through testApp: every command and query runs twice, each on a fresh copy of the state,
// and any difference (a handler that read the clock, Math.random or a variable of its module) fails.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
${imports([{ names: ["testApp"], module: "test-app" }], from)}
import app from "./index.js";

const alice = "0x1000000000000000000000000000000000000001" as const;
const bob = "0x2000000000000000000000000000000000000002" as const;

describe(${JSON.stringify(name)}, () => {
  it("adds to the caller's own count at the block time, and to the total", () => {
    const t = testApp(app, { timestamp: 1_000n });
    assert.equal(t.send(alice, "add", { by: 2 }).status, "applied");
    t.timestamp = 1_060n; // the next commands are ordered a minute later
    assert.equal(t.send(bob, "add", { by: "5" }).status, "applied");
    assert.equal(t.send(alice, "add", { by: 1 }).status, "applied");
    assert.deepEqual(t.ask(alice, "mine"), { status: "ok", result: { count: 3n, at: 1_060n } });
    assert.deepEqual(t.ask(bob, "mine"), { status: "ok", result: { count: 5n, at: 1_060n } });
    assert.deepEqual(t.ask(bob, "total"), { status: "ok", result: 8n });
  });

  it("refuses what its rules refuse, and then changes nothing", () => {
    const t = testApp(app);
    const refused = t.send(alice, "add", { by: 101 });
    assert.deepEqual([refused.status, refused.reason], ["failed", "add 1 to 100"]);
    const invalid = t.send(alice, "add", { by: -1 });
    assert.match(invalid.reason ?? "", /^invalid params: params\\.by/);
    assert.deepEqual(t.ask(alice, "mine"), { status: "ok", result: null });
    assert.deepEqual(t.ask(alice, "total"), { status: "ok", result: 0n });
  });
});
`;
}

/** `inCheckout`: written inside anonify's checkout; `testFile`: the test's path from where it is run. */
export function readmeSource(
  name: string,
  { inCheckout, testFile }: { inCheckout: boolean; testFile: string },
): string {
  // Outside a checkout the app imports the installed package (\`anonify/app\`), and tsx runs its tests.
  const install = inCheckout ? "" : "npm install anonify tsx\n";
  const run = inCheckout
    ? `## Run it

From the repository's root: list it in \`apps/index.ts\` (the wallet and the typed SDK find apps
there), then build its enclave bundle and start a local network that runs it:

\`\`\`sh
npm run build
npm start -- --app ${name}
node bin/anonify.mjs call add '{"by": 2}' --app ${name} --node $NODE --key alice.key
node bin/anonify.mjs query mine --app ${name} --node $NODE --key alice.key
\`\`\`
`
    : `## Run it

An enclave is built from a checkout of anonify (its sources and development dependencies): copy
this folder to its \`apps/\`, then \`npm run build\` and \`npm start -- --app ${name}\` there.
`;
  return `# ${name}

An Anonify app, made by \`anonify app new ${name}\`: a state machine whose commands run inside attested
enclaves (docs/apps.md in the anonify repository, "Write your own app").

- \`index.ts\`: the app: its state, its commands (\`add\`) and its queries (\`mine\`, \`total\`).
- \`${name}.test.ts\`: its tests, through \`testApp\`, which runs every command twice and fails on
  any difference between the two runs.

## Test it

\`\`\`sh
${install}node --import tsx --test ${testFile}
\`\`\`

${run}`;
}
