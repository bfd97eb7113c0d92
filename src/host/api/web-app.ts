// What a node serves to browsers: the web wallet and explorer (dist/web, built by `npm run build`) at
// `/`, a network profile hint at `GET /v1/network` (the page checks it on chain: a hint only), and
// CORS on every route a wallet uses, so that a wallet served from an origin the user trusts (its own
// install, `anonify wallet serve`) talks to any node, and an explorer reads every node's status.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyCors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { type NetworkProfile, networkProfileJson } from "../../client/network-profile-format.js";

/**
 * Routes any page may call: public data, or commands and queries signed by the user's key and sealed
 * to the enclave (what the node learns is the same whichever page sent them). No credentials: no
 * cookie is ever read, and the admin routes (a bearer token) answer no other origin.
 */
const CORS_ROUTES: readonly { method: string; path: RegExp }[] = [
  { method: "GET", path: /^\/v1\/(status|health|ready|network|enclave)$/ },
  { method: "GET", path: /^\/v1\/commands\/[^/]+$/ },
  { method: "POST", path: /^\/v1\/(commands|queries)$/ },
];
/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/** Whether a page of another origin may send `method` to `url` (for a preflight, the method it asks for). */
function corsAllowed(method: string, url: string): boolean {
  const path = url.split("?")[0]!;
  return CORS_ROUTES.some((r) => r.method === method && r.path.test(path));
}
/**
 * The page runs only its own scripts and styles; it talks to its node, other nodes (explorer) and
 * the chain RPC of its profile, wherever those are.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Where the built page is: beside the bundled CLI (dist/cli.mjs → dist/web), or in dist/web of the
 * repository when running from source (src/host/api → dist/web). Undefined when not built.
 */
export function findWebRoot(): string | undefined {
  for (const relative of ["./web/", "../../../dist/web/"]) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

/**
 * The built page's content address: SHA-256 over each file's path (relative, `/`-separated) and
 * content, in path order. A release publishes it; `anonify wallet serve` and `npm run build` print
 * it, so a user can tell the page they run is the one released (a node's page may be anything).
 */
export function webBundleDigest(webRoot: string): string {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
  const hash = createHash("sha256");
  for (const path of files(webRoot)
    .map((f) => relative(webRoot, f).split(sep).join("/"))
    .sort()) {
    const content = readFileSync(join(webRoot, path));
    hash.update(`${path}\0${content.length}\0`).update(content);
  }
  return hash.digest("hex");
}

export type WebAppOptions = {
  /**
   * The profile a page starts from: the chain RPC must be one browsers may reach (no API key in it).
   * None (the node publishes no RPC): `/v1/network` answers 404 `no_network_hint`.
   */
  profile: NetworkProfile | undefined;
  /** The built page (default: `findWebRoot()`); none: `/` answers 404 `web_not_built`. */
  webRoot?: string;
};

export function registerWebApp(app: FastifyInstance, options: WebAppOptions): void {
  app.register(fastifyCors, {
    delegator: (request, callback) => {
      const asked = request.headers["access-control-request-method"];
      const method = request.method === "OPTIONS" && typeof asked === "string" ? asked : request.method;
      callback(null, {
        origin: corsAllowed(method, request.url ?? "") ? "*" : false,
        methods: ["GET", "POST"],
        allowedHeaders: ["content-type"],
        exposedHeaders: ["retry-after"],
        maxAge: PREFLIGHT_MAX_AGE_S,
      });
    },
  });
  const { profile } = options;
  app.get(
    "/v1/network",
    { schema: { summary: "a network profile hint: pages check it on chain" } },
    async (_request, reply) =>
      profile
        ? reply.type("application/json").send(networkProfileJson(profile))
        : reply.code(404).send({
            code: "no_network_hint",
            message:
              "this node publishes no chain RPC (node start --public-rpc): use your own network profile",
          }),
  );
  registerWebPage(app, options.webRoot);
}

/**
 * The built page at `/` with its content security policy, or 404 `web_not_built`: a node serves it
 * for convenience, `anonify wallet serve` from the user's own install.
 */
export function registerWebPage(app: FastifyInstance, webRoot = findWebRoot()): void {
  if (!webRoot || !existsSync(join(webRoot, "index.html"))) {
    app.get("/", { schema: { hide: true } }, async (_request, reply) =>
      reply
        .code(404)
        .send({ code: "web_not_built", message: "the web wallet is not built: run npm run build" }),
    );
    return;
  }
  app.register(fastifyStatic, {
    root: webRoot,
    prefix: "/",
    setHeaders: (res) => {
      res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
      res.setHeader("x-content-type-options", "nosniff");
    },
  });
}
