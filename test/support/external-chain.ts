// Nodes against any Ethereum JSON-RPC URL (Anvil, Hardhat, another implementation): the contract
// deployed from the build's bytecode, the owner's policy, the attestation service in-process and
// `nodes` in-process hosts with their enclave processes, built from the same parts as the devnet.
// Gas is paid by the development mnemonic's accounts (owner 0, node i by account i + 1), which
// Anvil and Hardhat both fund.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Address, Hex, LocalAccount } from "viem";
import type { RunningService } from "../../src/attestation/service.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { connectLedger, deployAnonify, withWallet } from "../../src/chain/chain.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { createLogger } from "../../src/host/log.js";
import type { EnclaveNode, EnclaveNodeOptions } from "../../src/host/node-host.js";
import { anvilKey } from "./chain.js";
import { waitForGroup } from "./group.js";
import { allowEnclaves, startService } from "./network.js";
import { TestNodes } from "./nodes.js";

/** A running node and the REST API in front of it. */
export type ChainNode = { url: string; node: EnclaveNode; api: FastifyInstance };

export type ChainNet = {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly contract: Address;
  readonly dataDir: string;
  /** Every line the hosts logged. */
  readonly logs: string[];
  /** The nodes by index (a restarted node replaces its old self). */
  readonly nodes: ChainNode[];
  running(): EnclaveNode[];
  client(account: LocalAccount, index: number, fetch?: typeof globalThis.fetch): Promise<AnonifyClient>;
  /** Stops node `index`, runs `whileDown`, and starts it again on its data directory with a new API. */
  restart(index: number, whileDown?: () => Promise<void>): Promise<ChainNode>;
  stop(): Promise<void>;
};

function bundleMeasurement(): Hex {
  return (JSON.parse(readFileSync(`${DEFAULT_ENCLAVE_BUNDLE}.json`, "utf8")) as { measurement: Hex })
    .measurement;
}

/** Deploys, sets the policy and starts `nodes` nodes on the chain at `rpcUrl`; waits until they share a group. */
export async function startNodesOn(rpcUrl: string, nodes = 3): Promise<ChainNet> {
  const dataDir = mkdtempSync(join(tmpdir(), "anonify-chain-"));
  const logs: string[] = [];
  const ledger = await connectLedger(rpcUrl);
  const owner = withWallet(ledger, anvilKey(0));
  const contract = await deployAnonify(owner);
  const deployedAtBlock = await ledger.publicClient.getBlockNumber();
  const started = new TestNodes();
  const running: ChainNode[] = [];
  let service: RunningService | undefined;
  const stop = async () => {
    for (const { api } of running) await api.close();
    await started.stopAll();
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const serve = async (node: EnclaveNode): Promise<ChainNode> => {
    const api = buildNodeApi({ node, contract, chainId: ledger.chain.id, publicRpcUrl: rpcUrl });
    return { url: await api.listen({ port: 0, host: "127.0.0.1" }), node, api };
  };
  try {
    service = await startService();
    await allowEnclaves({ owner, contract }, service, bundleMeasurement());
    const attestationUrl = service.url;
    const options = (index: number): EnclaveNodeOptions => ({
      hostDir: join(dataDir, `node-${index + 1}`),
      wallet: withWallet(ledger, anvilKey(index + 1)),
      contract,
      deployedAtBlock,
      attestationUrl,
      log: createLogger({ write: (l) => logs.push(l) }).child({ node: `node-${index + 1}` }),
    });
    for (let i = 0; i < nodes; i++) running.push(await serve(await started.start(options(i))));
    await waitForGroup(running.map((n) => n.node));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    rpcUrl,
    chainId: ledger.chain.id,
    contract,
    dataDir,
    logs,
    nodes: running,
    running: () => running.map((n) => n.node),
    client: (account, index, fetch) =>
      AnonifyClient.connect({
        network: { rpcUrl, chainId: ledger.chain.id, contract },
        node: running[index]!.url,
        account,
        fetch,
      }),
    async restart(index, whileDown) {
      const old = running[index]!;
      await old.api.close();
      running[index] = await serve(await started.restart(old.node, whileDown));
      return running[index];
    },
    stop,
  };
}
