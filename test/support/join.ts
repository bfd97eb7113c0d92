// A node that joins a running test network later, as an operator would add one: its own host
// directory, the next Anvil account for gas, the network's contract and attestation service, and
// the peers it fetches a state snapshot from; with its own API in front of it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { connectLedger, withWallet } from "../../src/chain/chain.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { createLogger } from "../../src/host/log.js";
import type { EnclaveNode, EnclaveNodeOptions } from "../../src/host/node-host.js";
import { anvilKey } from "./chain.js";
import type { TestNet } from "./network.js";
import { TestNodes } from "./nodes.js";

export type Joiner = {
  node: EnclaveNode;
  url: string;
  /** Stops it and starts it again on its data directory (with other peers, if given), with a new API. */
  restart(peers?: readonly string[]): Promise<void>;
  stop(): Promise<void>;
};

/** Starts node `index` (0-based, after the network's own) on `tn`, fetching snapshots from `peers`. */
export async function startJoiner(tn: TestNet, index: number, peers: readonly string[]): Promise<Joiner> {
  const nodes = new TestNodes();
  const options: EnclaveNodeOptions = {
    hostDir: join(tn.dataDir, `node-${index + 1}`),
    wallet: withWallet(await connectLedger(tn.net.rpcUrl), anvilKey(index + 1)),
    contract: tn.net.contract,
    deployedAtBlock: tn.net.deployedAtBlock,
    attestationUrl: tn.net.attestationUrl,
    log: createLogger({ write: (l) => tn.logs.push(l) }).child({ node: `node-${index + 1}` }),
    peers,
  };
  let api: FastifyInstance | undefined;
  const serve = async (node: EnclaveNode) => {
    api = buildNodeApi({
      node,
      contract: tn.net.contract,
      chainId: tn.net.chainId,
      publicRpcUrl: tn.net.rpcUrl,
    });
    joiner.url = await api.listen({ port: 0, host: "127.0.0.1" });
    joiner.node = node;
  };
  const joiner: Joiner = {
    node: undefined as unknown as EnclaveNode,
    url: "",
    async restart(newPeers = peers) {
      await api?.close();
      const node = await nodes.restart(joiner.node, undefined, {
        ...nodes.optionsOf(joiner.node),
        peers: newPeers,
      });
      await serve(node);
    },
    async stop() {
      await api?.close();
      await nodes.stopAll();
    },
  };
  await serve(await nodes.start(options));
  return joiner;
}

/** A peer that lies: it answers every snapshot request with bytes of its own. */
export async function startLyingPeer(): Promise<{
  url: string;
  requests: () => number;
  close(): Promise<void>;
}> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (!req.url?.startsWith("/v1/snapshots/")) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { "content-type": "application/octet-stream" })
      .end(crypto.getRandomValues(new Uint8Array(4096)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
