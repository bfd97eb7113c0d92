// Cost of a key rotation (empty commit with UpdatePath) by group size: create time, process time by
// another member, handshake size; through src/group/mls.ts and through plain ts-mls on the same
// states, so the ratio is the adapter's overhead.
//   node --import tsx bench/group.bench.ts [--out bench/results/group.json]   (markdown on stdout)
//   npm run bench -- group                                                  (writes group.json + .md)
// This file is the one place besides src/group/ allowed to import ts-mls (for the baseline).
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  type CiphersuiteImpl,
  type ClientState,
  decodeMlsMessage,
  defaultAuthenticationService,
  emptyPskIndex,
  encodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  createCommit as plainCreateCommit,
  processPrivateMessage,
} from "ts-mls";
import {
  type AuthenticationService,
  CIPHERSUITE,
  createCommit,
  createGroup,
  type GroupState,
  generateMemberKeys,
  joinFromHandshake,
  processHandshake,
} from "../src/group/mls.js";

const GROUP_SIZES = [2, 8, 32, 128] as const;
const WARMUP = 3;
const ITERATIONS = 30;
const acceptAll: AuthenticationService = { validateCredential: async () => true };

type Stats = { medianMs: number; meanMs: number };
type Row = {
  members: number;
  setupMs: number;
  adapter: { create: Stats; process: Stats; handshakeBytes: number };
  plain: { create: Stats; process: Stats; commitBytes: number };
  ratio: { create: number; process: number };
};

const stats = (samples: number[]): Stats => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs: median, meanMs: samples.reduce((s, x) => s + x, 0) / samples.length };
};

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await f();
  return [value, performance.now() - start];
}

/** Member 0 creates the group and adds everyone else in one commit; the last member joins from it. */
async function buildGroup(
  size: number,
): Promise<{ committer: GroupState; processor: GroupState; setupMs: number }> {
  const members = await Promise.all(
    Array.from({ length: size }, (_, i) => generateMemberKeys(new TextEncoder().encode(`member-${i}`))),
  );
  const [first, ...rest] = members;
  const start = performance.now();
  const add = await createCommit(
    await createGroup(new TextEncoder().encode(`bench-${size}`), first!.keys),
    { add: rest.map((m) => m.keyPackage) },
    acceptAll,
  );
  const setupMs = performance.now() - start;
  const processor = await joinFromHandshake(add.handshake, rest.at(-1)!.keys, acceptAll);
  return { committer: add.state, processor, setupMs };
}

/** The same state as plain ts-mls would hold it: its default config (accept-all auth), same retention. */
const plainClient = (state: GroupState): ClientState => ({
  ...state.mls,
  clientConfig: { ...state.mls.clientConfig, authService: defaultAuthenticationService },
});

async function measure(size: number, cs: CiphersuiteImpl): Promise<Row> {
  const { committer, processor, setupMs } = await buildGroup(size);
  const plainCommitter = plainClient(committer);
  const plainProcessor = plainClient(processor);
  const samples = { adapterCreate: [] as number[], adapterProcess: [] as number[] };
  const plainSamples = { create: [] as number[], process: [] as number[] };
  let handshakeBytes = 0;
  let commitBytes = 0;
  const runAdapter = async () => {
    const [commit, createMs] = await timed(() => createCommit(committer, {}, acceptAll));
    const [, processMs] = await timed(() => processHandshake(processor, commit.handshake, acceptAll));
    return { bytes: commit.handshake.length, createMs, processMs };
  };
  const runPlain = async () => {
    const [bytes, createMs] = await timed(async () => {
      const result = await plainCreateCommit({ state: plainCommitter, cipherSuite: cs });
      return encodeMlsMessage(result.commit);
    });
    const [, processMs] = await timed(async () => {
      const message = decodeMlsMessage(bytes, 0)?.[0];
      if (message?.wireformat !== "mls_private_message") throw new Error("expected a PrivateMessage");
      const result = await processPrivateMessage(plainProcessor, message.privateMessage, emptyPskIndex, cs);
      if (result.newState.groupContext.epoch !== committer.mls.groupContext.epoch + 1n)
        throw new Error("no epoch");
    });
    return { bytes: bytes.length, createMs, processMs };
  };
  // Interleaved, alternating who goes first, so drift and GC hit both sides alike; every iteration
  // starts from the same states (the functions are pure).
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const adapterFirst = i % 2 === 0;
    const first = await (adapterFirst ? runAdapter() : runPlain());
    const second = await (adapterFirst ? runPlain() : runAdapter());
    const [ours, theirs] = adapterFirst ? [first, second] : [second, first];
    if (i < WARMUP) continue;
    samples.adapterCreate.push(ours.createMs);
    samples.adapterProcess.push(ours.processMs);
    plainSamples.create.push(theirs.createMs);
    plainSamples.process.push(theirs.processMs);
    handshakeBytes = ours.bytes;
    commitBytes = theirs.bytes;
  }
  const adapter = {
    create: stats(samples.adapterCreate),
    process: stats(samples.adapterProcess),
    handshakeBytes,
  };
  const plain = { create: stats(plainSamples.create), process: stats(plainSamples.process), commitBytes };
  return {
    members: size,
    setupMs,
    adapter,
    plain,
    ratio: {
      create: adapter.create.medianMs / plain.create.medianMs,
      process: adapter.process.medianMs / plain.process.medianMs,
    },
  };
}

/** The machine's state during the run: shared runners make these timings noisy, so say how busy it was. */
type Machine = { cpus: number; loadBefore: number; loadAfter: number };

function markdown(rows: Row[], machine: Machine): string {
  const ms = (x: number) => x.toFixed(2);
  const lines = [
    `# MLS key rotation (empty commit with UpdatePath), ${CIPHERSUITE}`,
    "",
    `Measured by \`node --import tsx bench/group.bench.ts\` on Node ${process.versions.node}; median of ` +
      `${ITERATIONS} runs after ${WARMUP} warm-up, same states for adapter (src/group/mls.ts) and plain ts-mls; ` +
      `${machine.cpus} CPUs, 1-minute load ${machine.loadBefore.toFixed(2)} before, ${machine.loadAfter.toFixed(2)} after.`,
    "",
    "| members | create adapter ms | create plain ms | create ratio | process adapter ms | process plain ms " +
      "| process ratio | handshake bytes | plain commit bytes | setup: add all in one commit ms |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows
      .map((r) =>
        [
          r.members,
          ms(r.adapter.create.medianMs),
          ms(r.plain.create.medianMs),
          r.ratio.create.toFixed(2),
          ms(r.adapter.process.medianMs),
          ms(r.plain.process.medianMs),
          r.ratio.process.toFixed(2),
          r.adapter.handshakeBytes,
          r.plain.commitBytes,
          ms(r.setupMs),
        ].join(" | "),
      )
      .map((line) => `| ${line} |`),
    "",
    "Handshake bytes = our framing (9 bytes) around the same PrivateMessage commit. The adapter adds, per " +
      "call, the AuthenticationService wrapper, the handshake framing, and on processing the epoch/group " +
      "checks, the proposal policy callback and the UpdatePath check; ratios within about ±10% are " +
      "run-to-run noise on a shared machine.",
  ];
  return `${lines.join("\n")}\n`;
}

async function bench(): Promise<{ rows: Row[]; json: string; md: string }> {
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  const loadBefore = loadavg()[0]!;
  await buildGroup(GROUP_SIZES[0]); // warms the JIT so the first setup time is not inflated
  const rows: Row[] = [];
  for (const size of GROUP_SIZES) {
    console.error(`group of ${size}...`);
    rows.push(await measure(size, cs));
  }
  const machine: Machine = { cpus: cpus().length, loadBefore, loadAfter: loadavg()[0]! };
  const json = JSON.stringify(
    {
      ciphersuite: CIPHERSUITE,
      node: process.versions.node,
      machine,
      warmup: WARMUP,
      iterations: ITERATIONS,
      rows,
    },
    null,
    2,
  );
  return { rows, json: `${json}\n`, md: markdown(rows, machine) };
}

/** Entry point for bench/run.ts. */
export async function run(outDir: string): Promise<void> {
  const { json, md } = await bench();
  writeFileSync(join(outDir, "group.json"), json);
  writeFileSync(join(outDir, "group.md"), md);
  process.stdout.write(md);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const { json, md } = await bench();
  if (values.out !== undefined) writeFileSync(values.out, json);
  process.stdout.write(md);
}
