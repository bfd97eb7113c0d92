// The parts a node's host is made of, each serving one job (lodestar's way: a node assembled from
// folders): the supervised enclave, the sealed store, the command requests and their finality, the
// chain writer, batches, snapshots (kept, published, synced), the group's writes and the applying
// of ordered events. `EnclaveNode` (node-host.ts) runs their lifecycle; the hooks are its own.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import type { Divergence } from "../boundary/call-results.js";
import { finalityDepth } from "../chain/finality.js";
import { DEFAULT_BATCH_COMMANDS } from "../protocol/batch.js";
import { peerUrl } from "../protocol/peer-url.js";
import { BatchSubmitter, DEFAULT_MAX_BATCHES_IN_FLIGHT } from "./chain-io/batch-submitter.js";
import { ChainWriter } from "./chain-io/chain-writer.js";
import { EventApplication } from "./chain-io/event-application.js";
import { GroupWrites } from "./chain-io/group-writes.js";
import { PublicOutputs } from "./chain-io/public-outputs.js";
import { CommandFinality } from "./commands/command-finality.js";
import { CommandRequests } from "./commands/command-requests.js";
import type { CommandWaiters } from "./commands/command-waiters.js";
import { SupervisedEnclave } from "./enclave-supervisor.js";
import type { Logger } from "./log.js";
import type { StageMetrics } from "./metrics.js";
import type { NodeMetrics } from "./node-metrics.js";
import type { EnclaveNodeOptions } from "./node-options.js";
import { type Keep, SealedStore } from "./sealed-store.js";
import { PeerAnnouncer } from "./snapshots/peer-announcer.js";
import { PeerDiscovery } from "./snapshots/peer-discovery.js";
import { SnapshotPublisher } from "./snapshots/snapshot-publisher.js";
import { SnapshotStore } from "./snapshots/snapshot-store.js";
import { SnapshotSync } from "./snapshots/snapshot-sync.js";

/** What the parts call back into the node for. */
export type NodeHooks = {
  keep: Keep;
  waiters: CommandWaiters;
  stopped: () => boolean;
  address: () => Hex;
  onEnclaveExit: (reason: string) => void;
  onDiverged: (divergence: Divergence) => void;
  onRotationDue: () => void;
};

export function assembleNode(
  options: EnclaveNodeOptions,
  log: Logger,
  metrics: StageMetrics,
  counts: NodeMetrics,
  hooks: NodeHooks,
) {
  const { hostDir, wallet, contract } = options;
  const { keep, waiters, stopped } = hooks;
  // Made here, not only as the enclave's directory within it: an enclave served in a VM has none.
  mkdirSync(hostDir, { recursive: true });
  const enclaveLog = log.child({ component: "enclave" });
  const deadline = options.enclaveCallDeadlineMs;
  const enclave = new SupervisedEnclave({
    dataDir: join(hostDir, "enclave"),
    bundle: options.bundle,
    ...(options.enclaveEndpoint ? { endpoint: options.enclaveEndpoint } : {}),
    ...(options.enclaveLauncher ? { launcher: options.enclaveLauncher } : {}),
    ...(deadline ? { callDeadlineMs: () => deadline } : {}),
    onLog: (line) => enclaveLog.info(line),
    onUnexpectedExit: hooks.onEnclaveExit,
  });
  const store = new SealedStore(hostDir);
  const finality = new CommandFinality(
    wallet.publicClient,
    finalityDepth(wallet.chain.id, options.finalityDepth),
    counts,
  );
  const commands = new CommandRequests({ enclave, metrics, counts, waiters, finality, store, stopped });
  const writer = new ChainWriter(wallet, contract, log);
  const batches = new BatchSubmitter({
    enclave,
    writer,
    wallet,
    store,
    metrics,
    counts,
    log,
    maxBatchCommands: options.maxBatchCommands ?? DEFAULT_BATCH_COMMANDS,
    maxBatchesInFlight: options.maxBatchesInFlight ?? DEFAULT_MAX_BATCHES_IN_FLIGHT,
    rotateEveryBatches: options.rotateEveryBatches,
    onRotationDue: hooks.onRotationDue,
  });
  const snapshots = new SnapshotStore(hostDir);
  const publisher = new SnapshotPublisher({
    enclave,
    store: snapshots,
    writer,
    wallet,
    contract,
    self: hooks.address,
    log,
  });
  const snapshotSync = new SnapshotSync({
    enclave,
    store: snapshots,
    wallet,
    contract,
    peers: options.peers ?? [],
    discovery: new PeerDiscovery({
      ledger: wallet,
      contract,
      deployedAtBlock: options.deployedAtBlock,
      self: hooks.address,
      log,
    }),
    log,
  });
  const announcer =
    options.publicUrl === undefined ? undefined : peerAnnouncer(options, enclave, writer, hooks, log);
  const groupWrites = new GroupWrites({
    enclave,
    writer,
    wallet,
    contract,
    publisher,
    batches,
    address: hooks.address,
    keep,
  });
  const outputs = new PublicOutputs({
    enclave,
    writer,
    wallet,
    contract,
    counts,
    keep,
    log,
    diverged: hooks.onDiverged,
  });
  const events = new EventApplication({
    enclave,
    store,
    keep,
    waiters,
    publisher,
    snapshotSync,
    metrics,
    counts,
    stopped,
    diverged: hooks.onDiverged,
    outputs,
    log,
  });
  return {
    enclave,
    store,
    finality,
    commands,
    writer,
    batches,
    snapshots,
    publisher,
    snapshotSync,
    announcer,
    groupWrites,
    events,
    outputs,
  };
}

/** The announcer of the node's `publicUrl`, spelled as every reader of the chain compares it. */
function peerAnnouncer(
  options: EnclaveNodeOptions,
  enclave: SupervisedEnclave,
  writer: ChainWriter,
  hooks: NodeHooks,
  log: Logger,
): PeerAnnouncer {
  const checked = peerUrl(options.publicUrl ?? "");
  if ("problem" in checked) throw new Error(`publicUrl ${checked.problem}`);
  const { wallet, contract, deployedAtBlock } = options;
  return new PeerAnnouncer({
    enclave,
    writer,
    wallet,
    contract,
    deployedAtBlock,
    url: checked.url,
    self: hooks.address,
    log,
  });
}
