// What a node serves to browsers: the web wallet and explorer (dist/web, built by `npm run build`) at
// `/`, a network profile hint at `GET /v1/network` (the page checks it on chain: a hint only), and
// CORS on the public read-only routes, so an explorer served by one node reads the others' status.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { NETWORK_PROFILE_VERSION, type NetworkProfile } from "../../client/network-profile-format.js";

/** Routes anyone may read from any page: public data, no credentials. */
const CORS_PATHS = new Set(["/v1/status", "/v1/health", "/v1/network"]);
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

export type WebAppOptions = {
  /** The profile a page starts from: the chain RPC must be one browsers may reach (no API key in it). */
  profile: NetworkProfile;
  /** The built page (default: `findWebRoot()`); none: `/` answers 404 `web_not_built`. */
  webRoot?: string;
};

export function registerWebApp(app: FastifyInstance, options: WebAppOptions): void {
  app.addHook("onSend", async (request, reply) => {
    if (request.method === "GET" && CORS_PATHS.has(request.url.split("?")[0]!))
      reply.header("access-control-allow-origin", "*");
  });
  const { profile } = options;
  app.get(
    "/v1/network",
    { schema: { summary: "a network profile hint: pages check it on chain" } },
    async () => ({
      version: NETWORK_PROFILE_VERSION,
      chainId: profile.chainId,
      contract: profile.contract,
      deployedAtBlock: profile.deployedAtBlock.toString(),
      rpcUrl: profile.rpcUrl,
    }),
  );
  const root = options.webRoot ?? findWebRoot();
  if (!root || !existsSync(join(root, "index.html"))) {
    app.get("/", { schema: { hide: true } }, async (_request, reply) =>
      reply
        .code(404)
        .send({ code: "web_not_built", message: "the web wallet is not built: run npm run build" }),
    );
    return;
  }
  app.register(fastifyStatic, {
    root,
    prefix: "/",
    setHeaders: (res) => {
      res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
      res.setHeader("x-content-type-options", "nosniff");
    },
  });
}
