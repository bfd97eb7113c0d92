// The node's state for operators, monitors and clients: liveness, readiness, status, its enclave.
import type { FastifyInstance } from "fastify";
import { ERROR, type NodeRoutes, type ServedNode } from "./api-common.js";

/** What `/v1/ready` answers: the first thing that keeps the node from serving, or `ready`. */
export const READINESS = [
  "ready",
  "starting",
  "enclave_restarting",
  "enclave_down",
  "diverged",
  "upgraded",
  "left",
  "catching_up",
  "not_member",
  "syncing",
] as const;
const STATUS = {
  type: "object",
  properties: {
    enclave: { type: "string" },
    measurement: { type: "string" },
    release: { type: "string", description: "the release the enclave's build names (measured with it)" },
    platform: { type: "string" },
    app: {
      type: "object",
      description:
        "the app the enclave runs: its name, code hash and state version, and the id it registered with",
      properties: {
        name: { type: "string" },
        codeHash: { type: "string" },
        stateVersion: { type: "integer" },
        id: { type: "string" },
      },
    },
    contract: { type: "string" },
    chainId: { type: "integer" },
    chainRpc: {
      type: ["string", "null"],
      description:
        "the chain RPC the operator publishes to clients (node start --public-rpc), as scheme://host:port only; null: none (the node's own is never shown)",
    },
    chainHead: { type: "string" },
    followedHead: {
      type: ["string", "null"],
      description: "the last block whose events the node has read (null before it first caught up)",
    },
    lagBlocks: { type: ["string", "null"], description: "blocks between chainHead and followedHead" },
    gasBalance: {
      type: ["string", "null"],
      description: "wei left on the account that pays the node's gas (null: the chain did not answer)",
    },
    ready: {
      enum: READINESS,
      description: "what /v1/ready says: ready, or the first thing that keeps the node from serving",
    },
    warnings: {
      type: "array",
      description:
        "what the operator must act on before it bites: low_gas (under a day of spending, or 100 batches at " +
        "today's gas price), collateral_due (a held collateral set's next update within a week), collateral_past",
      items: {
        type: "object",
        required: ["code", "message"],
        properties: { code: { type: "string" }, about: { type: "string" }, message: { type: "string" } },
      },
    },
    synced: { type: "boolean" },
    epoch: { type: ["string", "null"] },
    slot: { type: "string" },
    member: { type: "boolean" },
    removed: { type: "boolean" },
    members: { type: "array", items: { type: "string" } },
    epochKeyFingerprint: { type: ["string", "null"] },
    lastHandshake: { type: ["object", "null"], additionalProperties: true },
    declined: {
      type: "array",
      description:
        "enclaves that published a key package which this member does not add to the group, and why " +
        "(their credential is refused here: e.g. a measurement or app no signed policy admits)",
      items: {
        type: "object",
        required: ["enclave", "reason"],
        properties: { enclave: { type: "string" }, reason: { type: "string" } },
      },
    },
    rotationPending: { type: "boolean" },
    syncing: {
      type: "boolean",
      description:
        "the node joined the group after commands were applied and waits for its state snapshot: " +
        "it answers commands and queries with 503 syncing until it is installed",
    },
    sync: {
      type: "object",
      description:
        "the node's peers for a state snapshot: the --peer URLs it was given, the URLs active enclaves " +
        "announced on chain (as of its last look, while it needed a snapshot), and `no_peer` while it " +
        "waits for a snapshot with neither",
      properties: {
        peers: { type: "integer" },
        announced: { type: "integer" },
        reason: { type: ["string", "null"] },
      },
    },
    appliedSequence: { type: "string" },
    batches: { type: "string" },
    skippedBatches: {
      type: "string",
      description: "batches this enclave could not open (not a member of their epoch)",
    },
    queued: { type: "integer" },
    policyVersion: {
      type: "string",
      description: "the version of the signed policy document this enclave applied (0: none)",
    },
    lastPolicyEvent: {
      type: ["object", "null"],
      description: "what became of the last policy document published: applied, or ignored and why",
      additionalProperties: true,
    },
    collateral: {
      type: "array",
      description:
        "the Intel collateral sets (SGX, TDX quotes) and AMD CRL sets (SEV-SNP reports) this enclave holds, from `CollateralPublished`",
      items: {
        type: "object",
        properties: {
          key: { type: "string" },
          platform: { type: "string" },
          fmspc: { type: "string" },
          product: { type: "string" },
          tcbEvaluationDataNumber: { type: "integer" },
          nextUpdate: { type: "string" },
        },
      },
    },
    lastCollateralEvent: {
      type: ["object", "null"],
      description: "what became of the last collateral published: held, or ignored and why",
      additionalProperties: true,
    },
    appliedEvent: {
      type: "string",
      description: "the position of the last event of the contract's sequence the enclave applied",
    },
    diverged: {
      type: ["object", "null"],
      description:
        "set once the enclave found its history or state is not the network's: the event that showed it, " +
        "why, and both state digests where they differed. It applies, signs and answers nothing more; " +
        "the node needs a fresh join (a new data directory)",
      properties: {
        seq: { type: "string" },
        kind: { type: "string" },
        reason: { type: "string" },
        ours: { type: "string" },
        theirs: { type: "string" },
      },
    },
    upgraded: {
      type: ["object", "null"],
      description:
        "set once a signed policy upgraded the network's app away from this node's (docs/operations.md §6): " +
        "the event where, the app id to run, and what to do. It applies and answers no command from there " +
        "on, and serves its state as of then to the new version's joiners",
      properties: { seq: { type: "string" }, to: { type: "string" }, reason: { type: "string" } },
    },
  },
} as const;

type Readiness = (typeof READINESS)[number];
const READY = {
  type: "object",
  required: ["ready", "state"],
  properties: {
    ready: { type: "boolean" },
    state: { enum: READINESS },
    reason: { type: "string", description: "why it stays in that state, where the node knows (`no_peer`)" },
    message: { type: "string" },
  },
} as const;

/** What a syncing node tells its operator when nothing can give it its snapshot (snapshot-sync.ts). */
const NO_PEER = {
  reason: "no_peer",
  message:
    "waits for another node's state snapshot and has no peer: none given with --peer and none " +
    "announced on chain; it keeps looking",
} as const;

export async function readinessOf(node: ServedNode): Promise<Readiness> {
  if (!node.registration) return "starting";
  if (node.enclaveState === "restarting") return "enclave_restarting";
  let view: Awaited<ReturnType<ServedNode["groupStatus"]>>;
  try {
    view = await node.groupStatus();
  } catch {
    return "enclave_down";
  }
  if (view.diverged) return "diverged";
  if (view.upgraded) return "upgraded";
  if (node.hasLeft) return "left";
  // A joiner waiting for its snapshot has stopped reading the chain on purpose: say why.
  if (view.ledger.syncing !== undefined) return "syncing";
  if (!node.isSynced) return "catching_up";
  if (!view.group.member) return "not_member";
  return "ready";
}

export function registerStatusRoutes(
  api: FastifyInstance,
  { node, contract, chainId, chainRpc }: NodeRoutes,
): void {
  api.get(
    "/v1/health",
    {
      schema: {
        summary: "liveness",
        response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } },
      },
    },
    async () => ({ ok: true }),
  );

  api.get(
    "/v1/ready",
    {
      schema: {
        summary:
          "readiness: 200 only when the enclave answers, the node has read the chain up to its head, " +
          "its enclave is a group member with its state complete, and it has not left; else 503 naming the state",
        response: { 200: READY, 503: READY },
      },
    },
    async (_req, reply) => {
      const state = await readinessOf(node);
      const upgraded = state === "upgraded" ? (await node.groupStatus()).upgraded : undefined;
      const why =
        state === "syncing" && node.peerState.reason === "no_peer"
          ? NO_PEER
          : upgraded
            ? { reason: "upgraded", message: upgraded.reason }
            : {};
      return reply.code(state === "ready" ? 200 : 503).send({ ready: state === "ready", state, ...why });
    },
  );

  api.get(
    "/v1/status",
    {
      schema: {
        summary: "epoch, members, chain head, sync state, enclave",
        response: { 200: STATUS, 503: ERROR },
      },
    },
    async (_req, reply) => {
      if (!node.registration)
        return reply.code(503).send({ code: "starting", message: "the node is starting" });
      const [status, enclave, head, gas, warnings] = await Promise.all([
        node.groupStatus(),
        node.enclaveStatus(),
        node.chainHead(),
        node.gasBalance().catch(() => undefined),
        node.warnings(),
      ]);
      const ready = await readinessOf(node);
      const followed = node.followedHead;
      const g = status.group;
      return {
        enclave: node.address,
        measurement: enclave.measurement,
        release: enclave.release,
        platform: enclave.platform,
        app: enclave.app,
        contract,
        chainId,
        chainRpc,
        chainHead: head.toString(),
        followedHead: followed?.toString() ?? null,
        lagBlocks: followed === undefined ? null : (head > followed ? head - followed : 0n).toString(),
        gasBalance: gas?.toString() ?? null,
        ready,
        warnings,
        synced: node.isSynced,
        epoch: g.epoch ?? null,
        slot: g.slot,
        member: g.member,
        removed: g.removed,
        members: g.members,
        epochKeyFingerprint: g.epochKeyFingerprint ?? null,
        lastHandshake: g.lastHandshake ?? null,
        declined: g.declined,
        rotationPending: node.rotationPending,
        syncing: status.ledger.syncing !== undefined,
        sync: node.peerState,
        appliedSequence: status.ledger.sequence,
        batches: status.ledger.batches,
        skippedBatches: status.ledger.skippedBatches,
        queued: status.ledger.queued + status.ledger.inFlight,
        policyVersion: g.policyVersion,
        lastPolicyEvent: g.lastPolicyEvent ?? null,
        collateral: g.collateral,
        lastCollateralEvent: g.lastCollateralEvent ?? null,
        appliedEvent: status.cursor?.seq ?? "0",
        diverged: status.diverged ?? null,
        upgraded: status.upgraded ?? null,
      };
    },
  );

  api.get(
    "/v1/enclave",
    {
      schema: {
        summary: "this node's enclave: address, HPKE key, measurement, its app, on-chain registration",
        response: { 503: ERROR },
      },
    },
    async (_req, reply) => {
      if (!node.registration)
        return reply.code(503).send({ code: "starting", message: "the node is starting" });
      const [enclave, record] = await Promise.all([node.enclaveStatus(), node.onChainRecord()]);
      return {
        address: node.address,
        hpkePublicKey: node.registration.hpkePublicKey,
        measurement: enclave.measurement,
        release: enclave.release,
        platform: enclave.platform,
        // Name, code hash and state version: the registration's `app` is their id (`appIdOf`).
        app: enclave.app,
        registration: record,
        note: "clients read the HPKE key from the contract, not from this answer",
      };
    },
  );
}
