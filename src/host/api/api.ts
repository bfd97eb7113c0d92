// The node's REST API (fastify, JSON schemas, OpenAPI generated from them at /docs/openapi.json). Errors are JSON with a
// stable code and a message; nothing secret is in any answer. Guarded against abuse: admin routes need the node's
// admin token, every client (its address, or its IPv6 /64; behind a trusted proxy, the address the proxy names) has
// a request rate, waiting requests are capped, bodies are bounded, a request must arrive in time, and connections
// are capped. Given a certificate, it serves HTTPS.

import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address } from "viem";
import { loadOrCreateAdminToken } from "../admin-token.js";
import type { Logger } from "../log.js";
import { registerAdminRoutes } from "./api-admin.js";
import { registerCommandRoutes } from "./api-commands.js";
import {
  DEFAULT_API_LIMITS,
  EMPTY_BODY_LIMIT,
  type NodeApiLimits,
  type NodeRoutes,
  type ServedNode,
} from "./api-common.js";
import { clientErrorHandler, frameworkErrors, registerErrorShape } from "./api-errors.js";
import { type NodeApiMetrics, nodeApiMetrics, registerMetricsRoute } from "./api-metrics.js";
import { registerSnapshotRoutes } from "./api-snapshots.js";
import { registerStatusRoutes } from "./api-status.js";
import { clientKey, trustedProxyCheck } from "./client-address.js";
import { capConnectionsPerClient } from "./connection-cap.js";
import { registerWebApp } from "./web-app.js";

export {
  DEFAULT_API_LIMITS,
  EMPTY_BODY_LIMIT,
  ENVELOPE_BODY_LIMIT,
  type NodeApiLimits,
} from "./api-common.js";

const OPENAPI_URL = "/docs/openapi.json";
/** How often within a request's time limit Node looks for requests past it. */
const TIMEOUT_CHECKS_PER_LIMIT = 4;

/** OpenAPI paths keyed as fastify declares them: `{id}` templates back to `:id`, in order. */
function declaredPaths<T>(paths: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [path.replace(/\{(\w+)\}/g, ":$1"), item]),
  );
}

/**
 * A URL as `scheme://host:port`: an RPC provider's URL may hold its API key in the user part, the
 * path (`/v3/KEY`) or the query, none of which a status answer may show.
 */
export function withoutCredentials(url: string): string {
  try {
    const { protocol, host } = new URL(url);
    return `${protocol}//${host}`;
  } catch {
    return "(not a URL)";
  }
}

export type NodeApiOptions = {
  node: ServedNode;
  contract: Address;
  chainId: number;
  /** The token admin routes require; by default the node's own (`<hostDir>/admin-token`, made at first start). */
  adminToken?: string;
  /** Rate and waiting limits; each omitted one is DEFAULT_API_LIMITS's. */
  limits?: Partial<NodeApiLimits>;
  /** The contract's deployment block, for the network hint pages start from (default 0). */
  deployedAtBlock?: bigint;
  /**
   * The chain RPC the operator publishes to clients (`node start --public-rpc`), in the network hint
   * and in status (as scheme://host:port); without it the node names no RPC and gives no hint: its
   * own may be private, or hold a provider's key.
   */
  publicRpcUrl?: string;
  /** Where an internal error's cause is logged (the client hears "internal error" only). */
  log?: Logger;
  /**
   * The node's metrics, which this API's requests add to; served at `/metrics` here unless
   * `metricsElsewhere` (`node start --metrics-port`). Made here when omitted.
   */
  metrics?: NodeApiMetrics;
  metricsElsewhere?: boolean;
  /**
   * Proxies whose X-Forwarded-For names the client (`node start --trusted-proxy`; each an IP address
   * or a CIDR range). Default none: every client is its socket's peer, whatever it sends.
   */
  trustedProxies?: readonly string[];
  /** The certificate (chain) and its private key, PEM (`node start --tls-cert/--tls-key`): HTTPS only. */
  tls?: NodeApiTls;
};

export type NodeApiTls = { cert: string; key: string };

export function buildNodeApi(options: NodeApiOptions): FastifyInstance {
  const { node, contract, chainId } = options;
  // What status and the network hint name: the RPC the operator publishes, else its own without credentials.
  const chainRpc = options.publicRpcUrl === undefined ? null : withoutCredentials(options.publicRpcUrl);
  const adminToken = options.adminToken ?? loadOrCreateAdminToken(node.hostDir);
  const limits: NodeApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const trustedProxies = options.trustedProxies ?? [];
  const isTrustedProxy = trustedProxyCheck(trustedProxies);
  // Node checks for late requests at this interval (by default every 30 s): a fraction of the limit.
  const server = {
    headersTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.ceil(limits.requestTimeoutMs / TIMEOUT_CHECKS_PER_LIMIT),
  };
  // Every route reads at most EMPTY_BODY_LIMIT bytes of a body unless it says more (the envelope routes).
  // Refusals decided before any route (a URL fastify cannot decode, bytes Node's parser rejects)
  // are answered in the API's error shape too.
  const app = Fastify({
    logger: false,
    bodyLimit: EMPTY_BODY_LIMIT,
    frameworkErrors,
    clientErrorHandler,
    requestTimeout: limits.requestTimeoutMs,
    // request.ip: the socket's peer, or, from a trusted proxy, the right-most X-Forwarded-For address
    // that is not itself one (fastify's walk of the header, with this list as its trust).
    trustProxy: trustedProxies.length > 0 ? isTrustedProxy : false,
    // With a certificate, a TLS handshake must also end within the request's limit (Node's is 120 s).
    ...(options.tls
      ? { https: { ...server, ...options.tls, handshakeTimeout: limits.requestTimeoutMs } }
      : { http: server }),
    // One instance type for both: nothing here differs between an HTTP and an HTTPS server.
  }) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;
  capConnectionsPerClient(app.server, limits.maxConnectionsPerAddress, isTrustedProxy);
  // The OpenAPI document is built from the route schemas below (their `summary`, params, body and
  // answers); the routes are registered after the plugin so that it sees each of them.
  app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Anonify node API", version: "1" },
      components: { securitySchemes: { adminToken: { type: "http", scheme: "bearer" } } },
    },
    // Paths keyed as the routes declare them (`/v1/commands/:id`), the form this API's clients and
    // tests look up, rather than the plugin's `{id}`.
    transformObject: (document) => {
      if (!("openapiObject" in document)) return document.swaggerObject;
      const { openapiObject } = document;
      if (openapiObject.paths) openapiObject.paths = declaredPaths(openapiObject.paths);
      return openapiObject;
    },
  });
  // Per client (`clientKey` of request.ip: an address, an IPv6 /64); a header names the client only
  // when a trusted proxy sent it. In memory, fixed windows; checked on request, before any body is read.
  const perSecond = limits.rateLimit.timeWindowMs / 1000;
  app.register(rateLimit, {
    max: limits.rateLimit.max,
    timeWindow: limits.rateLimit.timeWindowMs,
    keyGenerator: (request) => clientKey(request.ip),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: "rate_limited",
      message:
        `node API rate limit: at most ${context.max} requests per ${perSecond} s from one client ` +
        `(an IPv4 address or an IPv6 /64); ` +
        `retry after ${context.after}`,
    }),
  });
  registerErrorShape(app, options.log);

  const metrics = options.metrics ?? nodeApiMetrics(node);
  const routes: NodeRoutes = { node, contract, chainId, chainRpc, limits, adminToken };
  app.register(async (api) => {
    registerStatusRoutes(api, routes);
    registerAdminRoutes(api, routes);
    registerCommandRoutes(api, routes);
    registerSnapshotRoutes(api, routes);
    api.addHook("onResponse", metrics.observe);
    if (!options.metricsElsewhere) registerMetricsRoute(api, metrics);
    api.get(OPENAPI_URL, { schema: { hide: true } }, async () => api.swagger());
    registerWebApp(api, {
      profile:
        options.publicRpcUrl === undefined
          ? undefined
          : {
              chainId,
              contract,
              deployedAtBlock: options.deployedAtBlock ?? 0n,
              rpcUrl: options.publicRpcUrl,
            },
    });
  });
  return app;
}
