// `anonify wallet serve`: the web wallet from the user's own install, on their own machine. A page a
// node serves is that node's code (its operator, or anyone on its plain-HTTP path, can change what
// captures the passphrase); served from here it is the code the user installed, and it takes its
// network profile from the user's own file, not from a node's hint. The nodes answer it across
// origins (CORS on the wallet's routes, src/host/api/web-app.ts).
import type { Command } from "commander";
import Fastify from "fastify";
import { AnonifyClientError } from "../client/errors.js";
import {
  DEFAULT_NETWORK_PROFILE,
  networkProfileJson,
  PINNED_PROFILE_PATH,
  readNetworkProfile,
} from "../client/network-profile.js";
import { findWebRoot, registerWebPage, webBundleDigest } from "../host/api/web-app.js";
import { MAX_PORT, parseCount, parseUrl } from "./flags.js";
import { run } from "./output.js";

/** A port no node of the devnet takes by default. */
const DEFAULT_WALLET_PORT = 8600;
/** Names the page may be asked for by: another (a DNS rebinding) would let any site read the profile. */
const LOCAL_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);
const LOOPBACK = "127.0.0.1";

type WalletServeFlags = { network: string; node?: string; port: string; host: string; json: boolean };

export function registerWalletServe(wallet: Command): void {
  wallet
    .command("serve")
    .description(
      "serve the web wallet from this install on your own machine, with your network profile; open the URL it prints",
    )
    .option(
      "--network <file>",
      "your network profile (the page takes the chain and contract from it)",
      DEFAULT_NETWORK_PROFILE,
    )
    .option("--node <url>", "the node the page talks to (the page's ?node= parameter)")
    .option("--port <n>", "the port to listen on", String(DEFAULT_WALLET_PORT))
    .option("--host <host>", "the address to listen on (keep it on this machine)", LOOPBACK)
    .option("--json", "machine-readable output (one line once it listens)", false)
    .action((flags: WalletServeFlags) =>
      run(flags, async () => {
        const profile = readNetworkProfile(flags.network);
        const node = flags.node === undefined ? undefined : parseUrl(flags.node, "--node");
        const webRoot = findWebRoot();
        if (!webRoot)
          throw new AnonifyClientError("web_not_built", "the web wallet is not built: run npm run build");
        const app = Fastify();
        const served = new Set([...LOCAL_NAMES, flags.host]);
        app.addHook("onRequest", async (request, reply) => {
          const name = (request.headers.host ?? "").replace(/:\d+$/, "");
          if (!served.has(name))
            return reply
              .code(421)
              .send({ code: "wrong_host", message: "this wallet answers on this machine's names only" });
        });
        app.get(PINNED_PROFILE_PATH, async (_request, reply) =>
          reply.type("application/json").send(networkProfileJson(profile)),
        );
        registerWebPage(app, webRoot);
        await app.listen({ port: parseCount(flags.port, "--port", MAX_PORT), host: flags.host });
        const page = new URL(`http://${flags.host}:${(app.server.address() as { port: number }).port}/`);
        if (node) page.searchParams.set("node", node);
        const digest = webBundleDigest(webRoot);
        if (flags.json)
          return console.log(
            JSON.stringify({
              ok: true,
              url: page.href,
              chainId: profile.chainId,
              contract: profile.contract,
              webDigest: digest,
            }),
          );
        console.log(`wallet at ${page.href} (chain ${profile.chainId}, contract ${profile.contract})`);
        console.log(`page sha256 ${digest}: compare it with the one your release publishes`);
        if (!node) console.log("add ?node=URL to the address, a node of this network");
        console.log("Press Ctrl-C to stop.");
      }),
    );
}
