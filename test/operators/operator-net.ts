// A network made as independent operators make one: an Anvil the test starts, the contract deployed
// with `anonify deploy`, `anonify attestation-service start` and one `anonify node start` per node,
// each a process of its own (spawned from bin/anonify.mjs: run `npm run build` first).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Address, Hex, LocalAccount } from "viem";
import { type Anvil, freePort, startAnvil } from "../../src/chain/anvil.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import type { GroupSummary, LedgerSummary } from "../../src/host/node-host.js";
import { anvilKey } from "../support/chain.js";
import { type StatusSource, waitForGroup } from "../support/group.js";
import type { TokenNet } from "../support/token.js";

export const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
const execFileAsync = promisify(execFile);

/** Runs an `anonify` command to its end; rejects (with its stderr) when it exits non-zero. */
export const anonify = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args]);

/** What `GET /v1/status` answers (the fields the tests read). */
export type NodeStatus = {
  enclave: Address;
  member: boolean;
  removed: boolean;
  members: string[];
  /** Enclaves whose key package this member does not add, and why. */
  declined: { enclave: Hex; reason: string }[];
  epoch: string | null;
  slot: string;
  epochKeyFingerprint: string | null;
  appliedSequence: string;
  batches: string;
  skippedBatches: string;
  queued: number;
  synced: boolean;
  syncing: boolean;
  measurement: string;
  /** The release the enclave's build names. */
  release: string;
  policyVersion: string;
  lastPolicyEvent: { outcome: string; version?: string } | null;
};

export async function nodeStatus(url: string): Promise<NodeStatus> {
  const res = await fetch(new URL("/v1/status", url));
  if (!res.ok) throw new Error(`status of ${url}: ${res.status}`);
  return (await res.json()) as NodeStatus;
}

/**
 * A node's status over its API, in the shape the in-process fixtures read (test/support/group.ts):
 * what the API does not show (pending proposals, in-flight counts) is reported as none.
 */
export function httpStatusSource(url: () => string): StatusSource {
  return {
    async groupStatus() {
      const s = await nodeStatus(url());
      const group: GroupSummary = {
        keyPackagePublished: true,
        slot: s.slot,
        epoch: s.epoch ?? undefined,
        member: s.member,
        removed: s.removed,
        members: s.members as Hex[],
        epochKeyFingerprint: (s.epochKeyFingerprint ?? undefined) as Hex | undefined,
        lastHandshake: undefined,
        pending: false,
        declined: s.declined,
        policyVersion: "0",
        collateral: [],
      };
      const ledger: LedgerSummary = {
        sequence: s.appliedSequence,
        batches: s.batches,
        queued: s.queued,
        inFlight: 0,
        batchesInFlight: 0,
        skippedBatches: s.skippedBatches,
        // The API says only whether the node syncs, not from which point.
        syncing: s.syncing ? { slot: s.slot, block: "0", at: "0", sequence: s.appliedSequence } : undefined,
      };
      return { group, ledger, cursor: undefined, diverged: undefined };
    },
  };
}

type NodeStarted = { url: string; enclave: Address; adminToken: string; hostDir: string; registered: string };

export type OperatorNode = {
  readonly url: string;
  readonly dataDir: string;
  readonly keyFile: string;
  process: ChildCommand<NodeStarted>;
};

export type OperatorNet = TokenNet & {
  readonly dir: string;
  readonly anvil: Anvil;
  /** The profile `anonify deploy` wrote. */
  readonly profile: string;
  readonly attestationUrl: string;
  /** The attestation service's process id (the benchmarks sample its memory). */
  readonly attestationPid: number;
  readonly nodes: OperatorNode[];
  /** Every line the processes wrote on standard error (none kept when `onLine` is given). */
  readonly logs: string[];
  /**
   * Starts node `index` again on its data directory and port (after a stop or a crash); `args`:
   * more `node start` flags for this start (e.g. `--public-url`).
   */
  restart(index: number, options?: { args?: readonly string[] }): Promise<OperatorNode>;
  /**
   * Starts one more node, as an operator joining the network does: every node started before its
   * peer unless `peers` names them, on the network's enclave bundle unless `enclave` names another,
   * with `args` as more `node start` flags.
   */
  add(options?: {
    enclave?: string;
    peers?: readonly string[];
    args?: readonly string[];
  }): Promise<OperatorNode>;
  stop(): Promise<void>;
};

type AddOptions = Parameters<OperatorNet["add"]>[0];

const writeKey = (path: string, key: Hex) => writeFileSync(path, `${key}\n`, { mode: 0o600 });

export type OperatorNetOptions = {
  /**
   * The chain RPC URLs node `index` is started with (`--rpc`, in order: it fails over between
   * them), e.g. proxies in front of Anvil; default: the profile's, Anvil itself.
   */
  rpc?: (anvilUrl: string, index: number) => Promise<readonly string[]>;
  /**
   * Takes each line the processes write on standard error, prefixed with its process's name,
   * instead of `logs` (a long run would otherwise hold all of them in memory).
   */
  onLine?: (line: string) => void;
  /** An enclave bundle (`anonify enclave build`) every node runs, its measurement allowed at deployment. */
  enclave?: { path: string; measurement: Hex };
  /** More `node start` flags, for every node (e.g. `--max-batch-commands`). */
  nodeArgs?: readonly string[];
};

/** Starts the network of `count` node processes and waits until their enclaves share one group. */
export async function startOperatorNet(count = 3, options: OperatorNetOptions = {}): Promise<OperatorNet> {
  const dir = mkdtempSync(join(tmpdir(), "anonify-operators-"));
  const logs: string[] = [];
  const onLine = options.onLine ?? ((line: string) => logs.push(line));
  const anvil = await startAnvil();
  const children: ChildCommand<unknown>[] = [];
  const nodes: OperatorNode[] = [];
  const stop = async () => {
    await Promise.all([...nodes.map((n) => n.process.stop()), ...children.map((c) => c.stop())]);
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const service = await startChildCommand<{ url: string; signer: Address }>(
      CLI,
      [
        "attestation-service",
        "start",
        "--policy",
        "development",
        "--data-dir",
        join(dir, "attestation"),
        "--json",
      ],
      { onLine: (l) => onLine(`attestation: ${l}`) },
    );
    children.push(service);
    const ownerKey = join(dir, "owner.key");
    writeKey(ownerKey, anvilKey(0));
    const profile = join(dir, "network.json");
    await anonify(
      "deploy",
      ...["--rpc", anvil.rpcUrl, "--key", ownerKey, "--out", profile, "--json"],
      ...["--trust-signer", service.ready.signer, "--debug-allowed"],
      ...["--allow-measurement", options.enclave?.measurement ?? "default"],
    );
    const launch = async (
      index: number,
      port: number,
      {
        enclave = options.enclave?.path,
        peers = nodes.slice(0, index).flatMap((n) => (n ? [n.url] : [])),
        args: more = [],
      }: AddOptions = {},
    ): Promise<OperatorNode> => {
      const dataDir = join(dir, `node-${index + 1}`);
      const keyFile = join(dir, `node-${index + 1}.key`);
      writeKey(keyFile, anvilKey(index + 1));
      const args = ["node", "start", "--network", profile, "--attestation", service.ready.url];
      args.push("--data-dir", dataDir, "--key", keyFile, "--port", String(port), "--json");
      for (const peer of peers) args.push("--peer", peer);
      if (enclave) args.push("--enclave", enclave);
      args.push(...(options.nodeArgs ?? []), ...more);
      for (const url of (await options.rpc?.(anvil.rpcUrl, index)) ?? []) args.push("--rpc", url);
      const started = await startChildCommand<NodeStarted>(CLI, args, {
        onLine: (l) => onLine(`node-${index + 1}: ${l}`),
      });
      return { url: started.ready.url, dataDir, keyFile, process: started };
    };
    for (let i = 0; i < count; i++) nodes.push(await launch(i, await freePort()));
    let nextIndex = count;
    const network = readNetworkProfile(profile);
    const running = () => nodes.map((n) => httpStatusSource(() => n.url));
    await waitForGroup(running());
    return {
      dir,
      anvil,
      profile,
      attestationUrl: service.ready.url,
      attestationPid: service.pid,
      nodes,
      logs,
      running,
      client: (account: LocalAccount, index: number, fetch?: typeof globalThis.fetch) =>
        AnonifyClient.connect({ network, node: nodes[index]!.url, account, fetch }),
      async restart(index, restarted) {
        const old = nodes[index]!;
        await old.process.stop();
        nodes[index] = await launch(index, Number(new URL(old.url).port), restarted);
        return nodes[index];
      },
      async add(added) {
        // Its index (data directory, gas account) taken before anything awaits: nodes added at once
        // each get their own (with nodes.length both got the same, and ran on one data directory).
        const index = nextIndex++;
        const node = await launch(index, await freePort(), added);
        nodes[index] = node;
        return node;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
