// `GET /metrics`: the node in Prometheus' text format (prom-client), for dashboards and alerts. Only
// what an operator may see of their own node, and nothing confidential: counts, durations, heights,
// states; labels are route patterns, status codes, stage and state names, never an address, a
// command's name or a user's value (`test/e2e/metrics.test.ts` scans a scrape for them).
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { formatEther } from "viem";
import { STAGES } from "../metrics.js";
import type { NodeRoutes } from "./api-common.js";
import { READINESS, readinessOf } from "./api-status.js";

const METRICS_PATH = "/metrics";
/** Request durations: from a cached status read to a command waited on until ordered. */
const REQUEST_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function registerMetricsRoute(api: FastifyInstance, { node }: NodeRoutes): void {
  // One registry per node: several nodes in one process (tests, the in-process devnet) keep apart.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "anonify_" });
  const requests = new Counter({
    name: "anonify_http_requests_total",
    help: "Requests answered, by route pattern, method and status code",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const durations = new Histogram({
    name: "anonify_http_request_seconds",
    help: "Time to answer a request, by route pattern and method",
    labelNames: ["route", "method"],
    buckets: REQUEST_SECONDS_BUCKETS,
    registers: [registry],
  });
  api.addHook("onResponse", async (request, reply) => {
    // The route's pattern (/v1/commands/:id), never the URL asked for (which may hold an id).
    const route = request.routeOptions.url ?? "unmatched";
    if (route === METRICS_PATH) return;
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    durations.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  new Gauge({
    name: "anonify_ready",
    help: "1 for the node's readiness state (as /v1/ready says it), 0 for the others",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const state = await readinessOf(node);
      for (const s of READINESS) this.set({ state: s }, s === state ? 1 : 0);
    },
  });
  // Registered first: a registry collects in order, and this one's collect sets the next one's.
  new Gauge({
    name: "anonify_stage_seconds_total",
    help: "Seconds spent in each stage of the confidential path since the node started",
    labelNames: ["stage"],
    registers: [registry],
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
    registers: [registry],
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
      registers: [registry],
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
    registers: [registry],
    async collect() {
      const head = await node.chainHead().catch(() => undefined);
      if (head !== undefined) this.set(Number(head));
    },
  });
  // The enclave's calls by name (the call table's, a bounded set), read from the node at each scrape.
  new Gauge({
    name: "anonify_enclave_calls_total",
    help: "Calls of the node's enclave, by call",
    labelNames: ["call"],
    registers: [registry],
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
    registers: [registry],
  });
  const callFailures = new Gauge({
    name: "anonify_enclave_call_failures_total",
    help: "Calls of the node's enclave that failed or were refused, by call",
    labelNames: ["call"],
    registers: [registry],
  });
  const crashes = new Gauge({
    name: "anonify_enclave_crashes_total",
    help: "Times the node's enclave process exited unasked (the host restarts it)",
    registers: [registry],
  });
  new Gauge({
    name: "anonify_gas_balance_ether",
    help: "Ether left on the account that pays this node's gas (the alerts predict when it runs out)",
    registers: [registry],
    async collect() {
      const wei = await node.gasBalance().catch(() => undefined);
      if (wei !== undefined) this.set(Number(formatEther(wei)));
    },
  });
  api.get(
    METRICS_PATH,
    { schema: { summary: "the node's metrics, in Prometheus' text format" } },
    async (_request, reply) => {
      viewed = undefined; // read afresh for this scrape, once
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
}
