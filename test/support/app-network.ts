// A 1-node network of one shipped app, run from its own bundle (dist/enclave/apps/NAME.mjs: `npm run
// build` first), as the app tests drive it: the opener's CLI (with a key of its own), anyone's CLI
// (without a key) and the app's typed SDK for any account.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createPublicClient, http, type LocalAccount } from "viem";
import type { App } from "../../src/app/app.js";
import { appBundlePath, readBundleInfo } from "../../src/build/enclave-bundle.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { anonify, type OperatorNet, startOperatorNet } from "../operators/operator-net.js";

type CliRun = ReturnType<typeof anonify>;

export type AppNetwork<A extends App> = {
  readonly net: OperatorNet;
  /** `anonify ...args` as the opener runs it: its key, the node and the network. */
  opener(...args: string[]): CliRun;
  /** `anonify ...args` as anyone runs it: the node and the network, no key. */
  reader(...args: string[]): CliRun;
  /** The app's typed client for `account`, on the node. */
  sdk(account: LocalAccount): Promise<AnonifyClient<A>>;
  /** The index of the last batch the contract ordered (the last command's, one node sending them in turn). */
  lastBatch(): Promise<bigint>;
  stop(): Promise<void>;
};

/** What a failed CLI run wrote on standard error. */
export const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;

export async function startAppNetwork<A extends App>(app: A): Promise<AppNetwork<A>> {
  const bundle = appBundlePath(app.name);
  const built = readBundleInfo(bundle);
  assert.equal(built.app.name, app.name, `npm run build built the ${app.name} app's own bundle`);
  const net = await startOperatorNet(1, { enclave: { path: bundle, measurement: built.measurement } });
  const openerKey = join(net.dir, "opener.key");
  try {
    await anonify("wallet", "new", "--out", openerKey);
  } catch (error) {
    await net.stop();
    throw error;
  }
  const node = net.nodes[0]!.url;
  return {
    net,
    opener: (...args) => anonify(...args, "--node", node, "--key", openerKey, "--network", net.profile),
    reader: (...args) => anonify(...args, "--node", node, "--network", net.profile),
    sdk: (account) => AnonifyClient.connect({ network: readNetworkProfile(net.profile), node, account, app }),
    lastBatch: async () => {
      const { rpcUrl, contract } = readNetworkProfile(net.profile);
      const chain = createPublicClient({ transport: http(rpcUrl) });
      return (
        (await chain.readContract({ address: contract, abi: anonifyAbi, functionName: "batchCount" })) - 1n
      );
    },
    stop: () => net.stop(),
  };
}
