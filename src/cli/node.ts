// `anonify node start` and `anonify node leave`: one operator's node (its host, HTTP API and enclave
// child process) in this OS process, and its departure from the network.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type Address, getAddress } from "viem";
import { address, decimal, hex, object } from "../app/schema.js";
import type { AppSummary } from "../boundary/call-results.js";
import {
  builtAppBundle,
  builtPlatform,
  DEFAULT_ENCLAVE_BUNDLE,
  DEFAULT_ENCLAVE_CONFIG,
} from "../build/enclave-bundle.js";
import { type Ledger, withWallet } from "../chain/chain.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { createLogger } from "../host/log.js";
import { DEFAULT_API_HOST, startNodeService } from "../host/node-service.js";
import { OperatorError, readKeyFile, requireFunds } from "../operator/operator-checks.js";
import { DEFAULT_BATCH_COMMANDS, MAX_BATCH_COMMANDS } from "../protocol/batch.js";
import { parseTrustedProxies, readTlsFlags, reloadTlsOnHangup } from "./api-flags.js";
import { collect } from "./deploy.js";
import { platformFlag } from "./enclave.js";
import { enclaveEndpointFlags } from "./enclave-serve.js";
import { MAX_PORT, parseCount, parsePeerUrl, parseUrl } from "./flags.js";
import { GRAMINE_PLATFORM, gramineLauncher } from "./gramine-flags.js";
import { nodeRequest } from "./node-request.js";
import { registerNodeStatus } from "./node-status.js";
import { type OperatorNetworkFlags, operatorNetwork, operatorNetworkOptions } from "./operator-network.js";
import { run } from "./output.js";

type StartFlags = OperatorNetworkFlags & {
  attestation: string;
  dataDir: string;
  port: string;
  host: string;
  key: string;
  confirmations: string;
  finalityDepth?: string;
  maxBatchCommands: string;
  peer: string[];
  publicUrl?: string;
  app?: string;
  enclave?: string;
  platform?: string;
  gramineDir?: string;
  gramineCommand?: string;
  enclaveEndpoint?: string;
  hostTokenFile?: string;
  publicRpc?: string;
  metricsPort?: string;
  metricsHost?: string;
  trustedProxy: string[];
  tlsCert?: string;
  tlsKey?: string;
  rotateEverySeconds?: string;
  rotateEveryBatches?: string;
  json: boolean;
};

/** What `node start` prints once the node serves (one JSON line with --json, for scripts). */
export type NodeStarted = {
  ok: true;
  url: string;
  enclave: Address;
  adminToken: string;
  hostDir: string;
  contract: Address;
  chainId: number;
  registered: "already" | "now";
  /** The app its enclave runs, as it registered (name, code hash, state version, id). */
  app: AppSummary;
  /** The release its enclave's build names (`anonify enclave build --release`). */
  release: string;
  /** Where `/metrics` is served, when on a port of its own (`--metrics-port`). */
  metricsUrl?: string;
  pid: number;
};

/** The attestation service answers, and the contract trusts the key it signs with (else registration fails). */
async function checkAttestationService(url: string, ledger: Ledger, contract: Address): Promise<void> {
  let signer: Address;
  try {
    const res = await fetch(new URL("/v1/service", url));
    signer = ((await res.json()) as { signer: Address }).signer;
  } catch (error) {
    throw new OperatorError(
      "attestation_unreachable",
      `the attestation service ${url} does not answer (${(error as Error).message})`,
    );
  }
  const trusted = await ledger.publicClient.readContract({
    address: contract,
    abi: anonifyAbi,
    functionName: "trustedSigners",
    args: [signer],
  });
  if (!trusted)
    throw new OperatorError(
      "signer_not_trusted",
      `the attestation service ${url} signs as ${signer}, which contract ${contract} does not trust ` +
        `(its owner runs: anonify policy trust-signer ${signer})`,
    );
}

/**
 * The enclave bundle to run: the one `npm run build` built for `--app` (refused by name if none),
 * the file `--enclave` names, or the development build (undefined).
 */
function enclaveBundle(flags: Pick<StartFlags, "app" | "enclave">): string | undefined {
  if (flags.app !== undefined && flags.enclave !== undefined)
    throw new OperatorError(
      "bad_flag",
      "--app and --enclave both choose the enclave to run: give one (a bundle of anonify enclave build --app NAME runs that app)",
    );
  if (flags.app !== undefined) return builtAppBundle(flags.app);
  if (flags.enclave === undefined) return undefined;
  const bundle = resolve(flags.enclave);
  if (!existsSync(bundle))
    throw new OperatorError(
      "bad_flag",
      `--enclave ${flags.enclave}: no such bundle (anonify enclave build writes one)`,
    );
  return bundle;
}

/**
 * `--platform`: what the operator means to run on, checked against the bundle's build before anything
 * starts. The bundle's measured configuration chooses the platform; a node never switches it.
 */
function checkPlatform(platform: string, bundle: string): void {
  const wanted = platformFlag(platform);
  const built = builtPlatform(bundle);
  if (built === undefined)
    throw new OperatorError(
      "bad_flag",
      `--platform ${wanted}: ${bundle} has no build description beside it (${bundle}.json, which anonify enclave build writes) to check it against`,
    );
  if (built !== wanted)
    throw new OperatorError(
      "wrong_platform",
      `--platform ${wanted}: the enclave bundle ${bundle} is built for ${built}, and a bundle runs only on the platform it was built for ` +
        `(anonify enclave build --platform ${wanted} builds one for ${wanted})`,
    );
}

async function startNode(flags: StartFlags): Promise<void> {
  const port = parseCount(flags.port, "--port", MAX_PORT);
  const confirmations = BigInt(parseCount(flags.confirmations, "--confirmations"));
  const finalityDepth =
    flags.finalityDepth === undefined
      ? undefined
      : BigInt(parseCount(flags.finalityDepth, "--finality-depth"));
  const maxBatchCommands = parseCount(flags.maxBatchCommands, "--max-batch-commands", MAX_BATCH_COMMANDS, 1);
  const publicRpc =
    flags.publicRpc === undefined ? {} : { publicRpcUrl: parseUrl(flags.publicRpc, "--public-rpc") };
  // Rotation policies (forward secrecy in time, or in batches); the contract bounds how often.
  const rotation = {
    ...(flags.rotateEverySeconds === undefined
      ? {}
      : {
          rotateEveryMs:
            parseCount(flags.rotateEverySeconds, "--rotate-every-seconds", undefined, 1) * MS_PER_SECOND,
        }),
    ...(flags.rotateEveryBatches === undefined
      ? {}
      : { rotateEveryBatches: parseCount(flags.rotateEveryBatches, "--rotate-every-batches", undefined, 1) }),
  };
  const metrics =
    flags.metricsPort === undefined
      ? {}
      : {
          metricsPort: parseCount(flags.metricsPort, "--metrics-port", MAX_PORT),
          ...(flags.metricsHost === undefined ? {} : { metricsHost: flags.metricsHost }),
        };
  const trustedProxies = parseTrustedProxies(flags.trustedProxy);
  // Read and checked now: a wrong file is refused before the node registers or sends anything.
  const tls = readTlsFlags(flags.tlsCert, flags.tlsKey);
  const attestationUrl = parseUrl(flags.attestation, "--attestation");
  const peers = flags.peer.map((p) => parseUrl(p, "--peer"));
  const publicUrl =
    flags.publicUrl === undefined ? {} : { publicUrl: parsePeerUrl(flags.publicUrl, "--public-url") };
  const enclaveEndpoint = enclaveEndpointFlags(flags);
  const bundle = enclaveBundle(flags);
  if (flags.platform !== undefined) checkPlatform(flags.platform, bundle ?? DEFAULT_ENCLAVE_BUNDLE);
  const launcher = gramineLauncher(flags, bundle);
  const key = readKeyFile(flags.key, "the node's gas account");
  const { ledger, contract, deployedAtBlock } = await operatorNetwork(flags);
  const wallet = withWallet(ledger, key);
  await requireFunds(wallet, "node");
  await checkAttestationService(attestationUrl, ledger, contract);
  const hostDir = resolve(flags.dataDir);
  // Logs go to standard error: JSON beside --json, else one short line each for a terminal.
  const log = createLogger({ format: flags.json ? "json" : "human" });
  const service = await startNodeService({
    hostDir,
    wallet,
    contract,
    deployedAtBlock,
    attestationUrl,
    confirmations,
    finalityDepth,
    maxBatchCommands,
    peers,
    ...publicUrl,
    port,
    host: flags.host,
    log,
    ...(bundle ? { bundle } : {}),
    ...(enclaveEndpoint ? { enclaveEndpoint } : {}),
    ...(launcher ? { enclaveLauncher: launcher } : {}),
    ...publicRpc,
    ...rotation,
    ...metrics,
    trustedProxies,
    ...(tls ? { tls } : {}),
  });
  const stop = async () => {
    await service.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A renewed certificate (certbot and the like replace the files, then signal) without a restart.
  if (service.setTls && flags.tlsCert && flags.tlsKey)
    reloadTlsOnHangup(flags.tlsCert, flags.tlsKey, service.setTls, log);
  const built = await service.node.enclaveStatus();
  const started: NodeStarted = {
    ok: true,
    url: service.url,
    enclave: service.address,
    adminToken: service.adminToken,
    hostDir,
    contract,
    chainId: ledger.chain.id,
    registered: service.node.registration?.registered ?? "already",
    app: built.app,
    release: built.release,
    ...(service.metricsUrl ? { metricsUrl: service.metricsUrl } : {}),
    pid: process.pid,
  };
  if (flags.json) return console.log(JSON.stringify(started));
  console.log(`anonify node serving ${service.url} (chain ${ledger.chain.id}, contract ${contract})`);
  console.log(
    `  enclave      ${service.address} (${started.registered === "now" ? "registered now" : "registered before: resumed"})`,
  );
  console.log(
    `  app          ${started.app.name} v${started.app.stateVersion}, code hash ${started.app.codeHash} (id ${started.app.id})`,
  );
  console.log(`  release      ${started.release}`);
  console.log(`  metrics      ${service.metricsUrl ?? service.url}/metrics`);
  console.log(`  admin token  ${service.adminToken} (mode 0600)`);
  console.log(`  data         ${hostDir}`);
  console.log("Press Ctrl-C to stop; a start with the same --data-dir resumes it.");
}

const TRANSACTION_HASH_BYTES = 32;
const MS_PER_SECOND = 1000;

/** What a node answers a leave it sent. */
const NODE_LEFT = object(
  {
    enclave: address(),
    transaction: hex({ min: TRANSACTION_HASH_BYTES, max: TRANSACTION_HASH_BYTES }),
    block: decimal({ bits: 64 }),
  },
  { unknownFields: "drop" },
);

export function registerNodeCommand(program: Command): void {
  const node = program.command("node").description("one operator's node: its host, HTTP API and enclave");
  operatorNetworkOptions(node.command("start"))
    .description("run a node in this process until Ctrl-C (its enclave runs as a child process)")
    .requiredOption(
      "--attestation <url>",
      "the attestation service's URL (its signer must be trusted by the contract)",
    )
    .requiredOption(
      "--key <file>",
      "the private key file of the host's gas account (pays for registration, batches, handshakes)",
    )
    .option(
      "--data-dir <dir>",
      "the node's directory: sealed state, enclave data, admin token",
      ".anonify/node",
    )
    .option("--port <n>", "the API's port (0: any free port)", "0")
    .option("--host <address>", "the address the API listens on", DEFAULT_API_HOST)
    .option("--confirmations <n>", "blocks an event must be buried under before the node applies it", "0")
    .option(
      "--finality-depth <n>",
      "blocks that must follow a batch before its commands' status says final (default: 0 on the devnet, else 12; the chain's finalized block counts too)",
    )
    .option(
      "--max-batch-commands <n>",
      `at most this many commands in one batch (1 to ${MAX_BATCH_COMMANDS}); larger ones cost less gas per command`,
      String(DEFAULT_BATCH_COMMANDS),
    )
    .option(
      "--peer <url>",
      "another node's API URL (repeatable): where this node asks for state when it joins",
      collect,
      [],
    )
    .option(
      "--public-url <url>",
      "the URL at which others reach this node's API: announced on chain once (gas), so joiners find it",
    )
    .option(
      "--app <name>",
      `the app to run: its development build, which npm run build made (dist/enclave/apps/NAME.mjs); default: ${DEFAULT_ENCLAVE_CONFIG.app}`,
    )
    .option(
      "--enclave <file>",
      "the enclave bundle to run (anonify enclave build); default: the development build",
    )
    .option(
      "--platform <name>",
      "the platform this node runs its enclave on (sim, tdx, sev-snp, gramine-sgx): refused unless the bundle was built for it",
    )
    .option(
      "--gramine-dir <dir>",
      `with --platform ${GRAMINE_PLATFORM}: the directory of the signed manifest (NAME.manifest.sgx, NAME.sig); default: the bundle's`,
    )
    .option(
      "--gramine-command <command>",
      `with --platform ${GRAMINE_PLATFORM}: the launcher run as COMMAND NAME there (default: gramine-sgx; gramine-direct debugs without SGX)`,
    )
    .option(
      "--enclave-endpoint <host:port>",
      "connect to an enclave served in a confidential VM (anonify enclave serve) instead of starting one",
    )
    .option("--host-token-file <file>", "with --enclave-endpoint: the host token the enclave's server checks")
    .option(
      "--rotate-every-seconds <n>",
      "ask for a key rotation this often (the contract allows one per enclave per rotation interval)",
    )
    .option("--rotate-every-batches <n>", "ask for a key rotation after this many of this node's batches")
    .option(
      "--public-rpc <url>",
      "the chain RPC to tell clients of (status, the wallet's network hint) instead of the node's own",
    )
    .option(
      "--metrics-port <n>",
      "serve /metrics on this port alone (not on the API's), for a scraper on a private address",
    )
    .option("--metrics-host <address>", "the address the metrics port listens on (default: --host's)")
    .option(
      "--trusted-proxy <ip-or-cidr>",
      "a reverse proxy (repeatable): its X-Forwarded-For names the client the API's limits count",
      collect,
      [],
    )
    .option("--tls-cert <file>", "serve the API over HTTPS with this certificate (PEM; with --tls-key)")
    .option("--tls-key <file>", "the private key of --tls-cert (PEM, unencrypted)")
    .option("--json", "print one JSON line once serving (logs as JSON on standard error)", false)
    .action(async (flags: StartFlags) => {
      await run(flags, () => startNode(flags));
      // A start that failed has nothing left to serve (its enclave is stopped).
      if (process.exitCode) process.exit();
    });

  registerNodeStatus(node);
  node
    .command("leave")
    .description("leave the network for good: the node's enclave signs its leave, and the members remove it")
    .requiredOption("--node <url>", "the node's API URL")
    .requiredOption("--admin-token <file>", "the node's admin token file (node start prints it)")
    .option("--json", "machine-readable output", false)
    .action((flags: { node: string; adminToken: string; json: boolean }) =>
      run(flags, async () => {
        if (!existsSync(flags.adminToken))
          throw new OperatorError("bad_admin_token", `admin token file ${flags.adminToken}: no such file`);
        const token = readFileSync(flags.adminToken, "utf8").trim();
        const left = await nodeRequest(parseUrl(flags.node, "--node"), "POST", "/v1/group/leave", NODE_LEFT, {
          authorization: `Bearer ${token}`,
        });
        // Checksummed, as the chain's tools show it (the schema keeps addresses lower case).
        const enclave = getAddress(left.enclave);
        if (flags.json) return console.log(JSON.stringify({ ok: true, ...left, enclave }));
        console.log(
          `enclave ${enclave} left (transaction ${left.transaction}, block ${left.block}); ` +
            "the members remove it from the group with their next handshake, then stop the node",
        );
      }),
    );
}
