// Peers found on chain, with `anonify node start` processes: a node that joins after commands were
// applied and was given no `--peer` says why it waits (`no_peer` in `/v1/ready`, its status, the
// CLI, a warning), keeps looking, and installs its snapshot once a member announces its URL with
// `--public-url`, without a restart; a URL whose announcement no enclave signed is never asked; a
// member restarted with the same URL does not announce (pay) again. Run `npm run build` first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { connectLedger, withWallet, writeAnonify } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { peerDigest } from "../../src/protocol/digests.js";
import { anvilKey, signRaw } from "../support/chain.js";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { startLyingPeer } from "../support/join.js";
import { issueToken, newAccount, type Token, type TokenNet } from "../support/token.js";
import { until } from "../support/wait.js";
import {
  anonify,
  nodeStatus,
  type OperatorNet,
  type OperatorNode,
  startOperatorNet,
} from "./operator-net.js";

const MEMBERS = 2;
const FUNDED = 1_000n;
/** Gas for the forged announcement, sent without a simulation so that the contract itself refuses it. */
const FORGED_GAS = 200_000n;
/** The Anvil account the attacker pays from (the nodes use 1 to 4, the owner 0). */
const ATTACKER_ACCOUNT = 9;

type Ready = { ready: boolean; state: string; reason?: string; message?: string };
type Sync = { peers: number; announced: number; reason: string | null };

describe("peers found on chain", () => {
  let net: OperatorNet;
  let token: Token;
  /** The members the token waits on: a syncing joiner applies nothing until its snapshot. */
  const members: TokenNet = {
    client: (account, index) => net.client(account, index),
    running: () => net.running().slice(0, MEMBERS),
  };
  const accounts: LocalAccount[] = [];

  const ready = async (url: string) => {
    const res = await fetch(new URL("/v1/ready", url));
    return { status: res.status, body: (await res.json()) as Ready };
  };
  const sync = async (url: string) => ((await nodeStatus(url)) as unknown as { sync: Sync }).sync;
  const balancesAt = (index: number) =>
    Promise.all(accounts.map(async (a) => (await net.client(a, index)).query("balanceOf", {})));
  const logged = (node: OperatorNode, text: string) =>
    net.logs.filter((l) => l.startsWith(`node-${net.nodes.indexOf(node) + 1}: `) && l.includes(text));
  /** The PeerAnnounced events of `enclave` on the network's chain. */
  const announcements = async (enclave: Hex) => {
    const ledger = await connectLedger(net.anvil.rpcUrl);
    return ledger.publicClient.getContractEvents({
      address: readNetworkProfile(net.profile).contract,
      abi: anonifyAbi,
      eventName: "PeerAnnounced",
      args: { enclave },
      fromBlock: 0n,
      strict: true,
    });
  };
  /** A joiner given no `--peer`, once it is in the group. */
  const addJoiner = async () => {
    const joiner = await net.add({ peers: [] });
    await waitForGroup(net.running(), { what: "the joiner to join the group" });
    return joiner;
  };
  /** Restarts member `index` with `--public-url` its own API's URL. */
  const announceMember = (index: number) =>
    net.restart(index, { args: ["--public-url", net.nodes[index]!.url] });

  before(async () => {
    net = await startOperatorNet(MEMBERS);
    token = await issueToken(members, 0);
    for (let i = 0; i < 3; i++) accounts.push(await token.fundedAccount(FUNDED));
    const paid = await (await net.client(accounts[0]!, 1)).call("transfer", {
      to: newAccount().address,
      amount: "7",
    });
    assert.equal(paid.status, "applied");
    await waitForApplied(members.running(), paid.sequence + 1n);
  });
  after(() => net?.stop());

  test("with no peer it says no_peer and keeps looking; a member's URL announced later is found without a restart", async () => {
    const liar = await startLyingPeer();
    try {
      // An announcement no enclave signed (the attacker's key, for the liar's URL): the contract
      // refuses it on chain, even sent without a simulation, so no joiner ever reads it.
      const { contract, chainId } = readNetworkProfile(net.profile);
      const attacker = withWallet(await connectLedger(net.anvil.rpcUrl), anvilKey(ATTACKER_ACCOUNT));
      const url = `${liar.url}/`;
      const forged = await signRaw(generatePrivateKey(), peerDigest({ chainId, contract }, 0n, url));
      const hash = await writeAnonify(attacker, contract, "announcePeer", [0n, url, forged], FORGED_GAS);
      const receipt = await attacker.publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "reverted");

      const joiner = await addJoiner();
      const waiting = await until("the joiner to say it has no peer", async () => {
        const r = await ready(joiner.url);
        return r.body.reason === "no_peer" ? r : undefined;
      });
      assert.equal(waiting.status, 503);
      assert.equal(waiting.body.state, "syncing");
      assert.match(waiting.body.message ?? "", /--peer.*announced on chain/);
      assert.deepEqual(await sync(joiner.url), { peers: 0, announced: 0, reason: "no_peer" });
      const warning = await until("a warning that names the need", () =>
        logged(joiner, "none is announced on chain").find((l) => l.includes('"level":40')),
      );
      assert.match(warning, /--public-url/);
      const { stdout } = await anonify("group", "status", "--node", joiner.url);
      assert.match(stdout, /no peer to fetch it from \(0 given with --peer, 0 announced on chain\)/);

      // A member announces its URL (a restart with --public-url): the joiner finds it, as it is.
      const member = await announceMember(0);
      await until("the member's announcement", () => logged(member, "public URL announced on chain")[0]);
      await until("the joiner to install its snapshot", async () =>
        (await ready(joiner.url)).status === 200 ? true : undefined,
      );
      assert.deepEqual(await sync(joiner.url), { peers: 0, announced: 1, reason: null });
      assert.ok(logged(joiner, "state snapshot installed").length > 0);
      assert.deepEqual(await balancesAt(2), await balancesAt(1), "the joiner answers as the members do");
      assert.equal(liar.requests(), 0, "the forged URL was never asked");

      // Restarted with the same URL, it reads its announcement on chain and pays for none again.
      const { enclave } = await nodeStatus(member.url);
      const again = await announceMember(0);
      await until(
        "the restarted member to find its URL on chain",
        () => logged(again, "public URL already announced on chain")[0],
      );
      assert.equal((await announcements(enclave)).length, 1);
    } finally {
      await liar.close();
    }
  });

  test("a joiner given no --peer on a network where a member announced its URL gets its snapshot", async () => {
    const member = await announceMember(1);
    await until("the member's URL on chain", async () =>
      (await announcements((await nodeStatus(member.url)).enclave)).length > 0 ? true : undefined,
    );
    const joiner = await addJoiner();
    const index = net.nodes.indexOf(joiner);
    await until("the joiner to install its snapshot", async () =>
      (await ready(joiner.url)).status === 200 ? true : undefined,
    );
    assert.deepEqual(await balancesAt(index), await balancesAt(0));
    assert.ok((await sync(joiner.url)).announced >= 1);
  });
});
