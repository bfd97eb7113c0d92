// `GET /metrics`: the node in Prometheus' text format (prom-client), for dashboards and alerts. Only
// what an operator may see of their own node, and nothing confidential: counts, durations, heights,
// states; labels are route patterns, status codes, stage and state names, never an address, a
// command's name or a user's value (`test/e2e/metrics.test.ts` scans a scrape for them).
import Fastify, { type FastifyInstance, type onResponseHookHandler } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { formatEther } from "viem";
import { STAGES } from "../metrics.js";
import { WARNING_CODES } from "../node-health.js";
import type { ServedNode } from "./api-common.js";
import { READINESS, readinessOf } from "./api-status.js";

const METRICS_PATH = "/metrics";
/** Request durations: from a cached status read to a command waited on until ordered. */
const REQUEST_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A node's metrics: what its API's requests add, and the scrape that reads the rest from the node. */
export type NodeApiMetrics = {
  /** Counts an answered request (fastify's onResponse hook of the node's API). */
  observe: onResponseHookHandler;
  /** The text of one scrape. */
  scrape(): Promise<{ contentType: string; text: string }>;
};

export function nodeApiMetrics(node: ServedNode): NodeApiMetrics {
  // One registry per node: several nodes in one process (tests, the in-process devnet) keep apart.
  const own = new Registry();
  collectDefaultMetrics({ register: own, prefix: "anonify_" });
  const requests = new Counter({
    name: "anonify_http_requests_total",
    help: "Requests answered, by route pattern, method and status code",
    labelNames: ["route", "method", "status"],
    registers: [own],
  });
  const durations = new Histogram({
    name: "anonify_http_request_seconds",
    help: "Time to answer a request, by route pattern and method",
    labelNames: ["route", "method"],
    buckets: REQUEST_SECONDS_BUCKETS,
    registers: [own],
  });
  const observe: onResponseHookHandler = async (request, reply) => {
    // The route's pattern (/v1/commands/:id), never the URL asked for (which may hold an id).
    const route = request.routeOptions.url ?? "unmatched";
    if (route === METRICS_PATH) return;
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    durations.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  };
  new Gauge({
    name: "anonify_ready",
    help: "1 for the node's readiness state (as /v1/ready says it), 0 for the others",
    labelNames: ["state"],
    registers: [own],
    async collect() {
      const state = await readinessOf(node);
      for (const s of READINESS) this.set({ state: s }, s === state ? 1 : 0);
    },
  });
  // Registered first: a registry starts collecting in order, so this synchronous collect sets the next one's first.
  new Gauge({
    name: "anonify_stage_seconds_total",
    help: "Seconds spent in each stage of the confidential path since the node started",
    labelNames: ["stage"],
    registers: [own],
    collect() {
      const totals = node.metrics.snapshot();
      for (const stage of STAGES) {
        this.set({ stage }, totals[stage].ms / 1000);
        stageCalls.set({ stage }, totals[stage].calls);
      }
    },
  });
  const stageCalls = new Gauge({
    name: "anonify_stage_calls_total",
    help: "Calls of each stage of the confidential path since the node started",
    labelNames: ["stage"],
    registers: [own],
  });
  // Every gauge of a scrape reads the enclave's view once (the route resets it): one call, not five.
  let viewed: Promise<Awaited<ReturnType<typeof node.groupStatus>> | undefined> | undefined;
  const view = () => {
    if (!node.registration) return undefined;
    viewed ??= node.groupStatus().catch(() => undefined);
    return viewed;
  };
  const group = (
    name: string,
    help: string,
    read: (v: NonNullable<Awaited<ReturnType<typeof view>>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers: [own],
      async collect() {
        const v = await view();
        if (v) this.set(read(v));
      },
    });
  group("anonify_group_slot", "The contract's handshake slot this node's enclave has reached", (v) =>
    Number(v.group.slot),
  );
  group("anonify_group_epoch", "The MLS epoch of this node's enclave (-1: not a member)", (v) =>
    v.group.epoch === undefined ? -1 : Number(v.group.epoch),
  );
  group(
    "anonify_group_members",
    "Members of the group as this node's enclave sees it",
    (v) => v.group.members.length,
  );
  group("anonify_applied_sequence", "Commands this node's enclave has applied", (v) =>
    Number(v.ledger.sequence),
  );
  group(
    "anonify_queued_commands",
    "Commands accepted and not yet ordered",
    (v) => v.ledger.queued + v.ledger.inFlight,
  );
  new Gauge({
    name: "anonify_chain_head_block",
    help: "The chain's newest block, as this node's RPC says",
    registers: [own],
    async collect() {
      const head = await node.chainHead().catch(() => undefined);
      if (head === undefined) return;
      this.set(Number(head));
      const followed = node.followedHead;
      if (followed !== undefined) lag.set(Number(head > followed ? head - followed : 0n));
    },
  });
  const lag = new Gauge({
    name: "anonify_chain_lag_blocks",
    help: "Blocks between the chain's head and the last block whose events this node has read",
    registers: [own],
  });
  new Gauge({
    name: "anonify_rpc_errors_total",
    help: "Outages (refused, dropped, timed out, HTTP error) of each chain RPC endpoint, by its place in the node's list",
    labelNames: ["endpoint"],
    registers: [own],
    collect() {
      for (const [endpoint, outages] of node.rpcOutages.entries())
        this.set({ endpoint: String(endpoint) }, outages);
    },
  });
  // Intel's collateral sets the enclave holds, by platform and FMSPC (public: Intel publishes them).
  group(
    "anonify_collateral_sets",
    "DCAP collateral sets this node's enclave holds",
    (v) => v.group.collateral.length,
  );
  new Gauge({
    name: "anonify_collateral_next_update_seconds",
    help: "Seconds until each held collateral set's next update (negative: past it; members then refuse SGX/TDX joiners)",
    labelNames: ["platform", "fmspc"],
    registers: [own],
    // Its own read of the view: a registry collects its metrics at once, so one cannot set another's.
    async collect() {
      const v = await view();
      if (!v) return;
      this.reset();
      const now = Date.now();
      for (const c of v.group.collateral)
        this.set({ platform: c.platform, fmspc: c.fmspc }, (Date.parse(c.nextUpdate) - now) / 1000);
    },
  });
  new Gauge({
    name: "anonify_snapshot_peers",
    help: "Peers this node may fetch a state snapshot from: given (--peer) and announced on chain (as of its last look)",
    labelNames: ["source"],
    registers: [own],
    collect() {
      const { peers, announced } = node.peerState;
      this.set({ source: "given" }, peers);
      this.set({ source: "announced" }, announced);
    },
  });
  new Gauge({
    name: "anonify_warnings",
    help: "What the node warns of now (as /v1/status lists them), by code: low_gas, collateral_due, collateral_past",
    labelNames: ["code"],
    registers: [own],
    async collect() {
      const warnings = await node.warnings().catch(() => undefined);
      if (!warnings) return;
      for (const code of WARNING_CODES) this.set({ code }, warnings.filter((w) => w.code === code).length);
    },
  });
  // The enclave's calls by name (the call table's, a bounded set), read from the node at each scrape.
  new Gauge({
    name: "anonify_enclave_calls_total",
    help: "Calls of the node's enclave, by call",
    labelNames: ["call"],
    registers: [own],
    collect() {
      const totals = node.enclaveCalls();
      for (const [call, t] of totals.calls) {
        this.set({ call }, t.calls);
        callSeconds.set({ call }, t.seconds);
        callFailures.set({ call }, t.failures);
      }
      crashes.set(totals.crashes);
    },
  });
  const callSeconds = new Gauge({
    name: "anonify_enclave_call_seconds_total",
    help: "Seconds the node's enclave spent answering each call",
    labelNames: ["call"],
    registers: [own],
  });
  const callFailures = new Gauge({
    name: "anonify_enclave_call_failures_total",
    help: "Calls of the node's enclave that failed or were refused, by call",
    labelNames: ["call"],
    registers: [own],
  });
  const crashes = new Gauge({
    name: "anonify_enclave_crashes_total",
    help: "Times the node's enclave process exited unasked (the host restarts it)",
    registers: [own],
  });
  new Gauge({
    name: "anonify_gas_balance_ether",
    help: "Ether left on the account that pays this node's gas (the alerts predict when it runs out)",
    registers: [own],
    async collect() {
      const wei = await node.gasBalance().catch(() => undefined);
      if (wei !== undefined) this.set(Number(formatEther(wei)));
    },
  });
  // Merged once every metric is registered: a merge takes the metrics the registries hold then.
  const registry = Registry.merge([own, node.counts.registry]);
  return {
    observe,
    async scrape() {
      viewed = undefined; // read afresh for this scrape, once
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}

/** `GET /metrics` on `api`: the node's API port, or a port of its own (`metricsServer`). */
export function registerMetricsRoute(api: FastifyInstance, metrics: NodeApiMetrics): void {
  api.get(
    METRICS_PATH,
    { schema: { summary: "the node's metrics, in Prometheus' text format" } },
    async (_request, reply) => {
      const { contentType, text } = await metrics.scrape();
      return reply.type(contentType).send(text);
    },
  );
}

/**
 * A server that answers `GET /metrics` alone (`node start --metrics-port`): scrapes on an address
 * of their own, which an operator keeps off the public one.
 */
export function metricsServer(metrics: NodeApiMetrics): FastifyInstance {
  const app = Fastify({ logger: false });
  registerMetricsRoute(app, metrics);
  return app;
}
