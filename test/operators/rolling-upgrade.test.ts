// A rolling upgrade, performed as docs/operations.md ("Upgrade") tells operators to: three node
// processes on one enclave build move to a new release of it (`anonify enclave build --release`, a new
// measurement) one node at a time while senders keep sending transfers through whichever nodes serve.
// Both releases are built here, back to back from one tree, and must name the same app: a running
// build from an older `npm run build` than the tree (edited since) is another app's code to the
// members, who decline the new nodes (`declined` in their status) and leave them not_member.
// The owner allows the new measurement on chain and the policy signers admit it in a signed document;
// each new node starts on the new bundle with a fresh data directory and a running node as its peer,
// and once it serves, the old node is taken out of the routing, leaves, and stops; at the end the
// owner disallows the old measurement. Nothing acknowledged is lost or applied twice, and the three
// new nodes answer from one state digest, the one the chain records.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { DEFAULT_RELEASE } from "../../src/build/enclave-bundle.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { anvilKey } from "../support/chain.js";
import { waitForGroup, waitForSameSequence } from "../support/group.js";
import { type RoutedTransfers, startRoutedTransfers } from "../support/routed-transfers.js";
import { issueToken, newAccount, type TokenNet } from "../support/token.js";
import { until } from "../support/wait.js";
import {
  anonify,
  httpStatusSource,
  nodeStatus,
  type OperatorNet,
  type OperatorNode,
  startOperatorNet,
} from "./operator-net.js";

/** The release the network moves to. */
const NEXT_RELEASE = "0.2.0-rolling";
/** Nodes in the network, each run by its own operator. */
const NODES = 3;
/** Senders in the stream, and what each holds: more than it sends in the test's time. */
const SENDERS = 3;
const SENDER_FUNDS = 10_000n;
/** Commands each sender gets acknowledged by the new build alone, after the old measurement is disallowed. */
const AFTER_DISALLOW = 3;
/**
 * The Anvil account that pays for publishing policy documents: the last of Anvil's ten. Nodes take
 * 1 + their index, and every node this test adds (the refused one too) takes a new index, so they
 * use 1 to 7 (7 and a publisher on it raced for nonces in a clean-clone CI run).
 */
const PUBLISHER_ACCOUNT = 9;

/** How long a new node may take to register, join and install its snapshot on 2 shared cores. */
const JOIN_TIMEOUT_MS = 120_000;
const MS_PER_SECOND = 1000;

type Measured = {
  path: string;
  measurement: Hex;
  release: string;
  app: { name: string; codeHash: Hex; stateVersion: number; id: Hex };
};

/** The last readiness each node answered, named when a wait times out. */
const lastReadiness = new Map<string, string>();
const ready = async (url: string) => {
  const res = await fetch(new URL("/v1/ready", url));
  lastReadiness.set(url, await res.text());
  return res.ok || undefined;
};

describe("a rolling upgrade of three node processes to a new enclave release, under transfers", () => {
  let net: OperatorNet;
  let current: Measured;
  let next: Measured;
  let dir: string;
  /** The nodes in the group, in the order operators run them; the old ones leave it. */
  let serving: OperatorNode[];
  const members: TokenNet = {
    client: (account, index) => net.client(account, index),
    running: () => serving.map((n) => httpStatusSource(() => n.url)),
  };
  const keyFile = (name: string, key: Hex) => {
    const path = join(dir, name);
    writeFileSync(path, `${key}\n`, { mode: 0o600 });
    return path;
  };
  const policy = (...args: string[]) =>
    anonify("policy", ...args, "--network", net.profile, "--key", keyFile("owner.key", anvilKey(0)));
  /** A document admitting `measurements`, signed by 2 of the development build's 3 policy keys, published. */
  const publishAdmitting = async (version: number, measurements: readonly Hex[]) => {
    const doc = join(dir, `policy-${version}.json`);
    await anonify(
      ...["policy", "document", "--network", net.profile, "--version", String(version), "--out", doc],
      ...measurements.flatMap((m) => ["--admit", `sim:${m}`]),
    );
    for (const [i, key] of DEV_POLICY_PRIVATE_KEYS.slice(0, 2).entries())
      await anonify("policy", "sign", doc, "--key", keyFile(`signer-${i}.key`, key));
    const publisher = keyFile("publisher.key", anvilKey(PUBLISHER_ACCOUNT));
    await anonify("policy", "publish", doc, "--network", net.profile, "--key", publisher);
    await until(`policy document ${version} applied by every member`, async () => {
      const views = await Promise.all(serving.map((n) => nodeStatus(n.url)));
      return views.every((v) => v.policyVersion === String(version)) || undefined;
    });
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "anonify-rolling-upgrade-"));
    const build = async (...args: string[]) =>
      JSON.parse((await anonify("enclave", "build", ...args, "--json")).stdout) as Measured;
    current = await build("--out", join(dir, "current.mjs"));
    next = await build("--out", join(dir, "next.mjs"), "--release", NEXT_RELEASE);
    assert.deepEqual(
      next.app,
      current.app,
      "both releases are built from the same app code (the tree changed between the two builds: run again)",
    );
    net = await startOperatorNet(NODES, {
      enclave: { path: current.path, measurement: current.measurement },
    });
    serving = [...net.nodes];
  });
  after(async () => {
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("node by node, nothing acknowledged is lost or applied twice, and the new nodes share one state", async (t) => {
    // How long each step took, in the test's report: docs/operations.md quotes them.
    let stepStart = Date.now();
    const took = (step: string) => {
      t.diagnostic(`${step}: ${((Date.now() - stepStart) / MS_PER_SECOND).toFixed(1)} s`);
      stepStart = Date.now();
    };
    const old = await Promise.all(serving.map((n) => nodeStatus(n.url)));
    const oldMeasurement = old[0]!.measurement as Hex;
    assert.equal(next.release, NEXT_RELEASE);
    assert.notEqual(next.measurement, oldMeasurement, "a new release is a new measurement");
    for (const s of old) assert.equal(s.release, DEFAULT_RELEASE);
    const oldUrls = serving.map((n) => n.url);

    const token = await issueToken(members, 0);
    const senders: LocalAccount[] = [];
    for (let i = 0; i < SENDERS; i++) senders.push(await token.fundedAccount(SENDER_FUNDS));
    const sink = newAccount();
    const network = readNetworkProfile(net.profile);
    const stream: RoutedTransfers = startRoutedTransfers(
      network,
      senders,
      sink.address,
      serving.map((n) => n.url),
    );
    const acknowledgedBy = (sender: string) => stream.acknowledged.filter((a) => a.sender === sender).length;

    took("the network, the token and its senders");
    // Before the owner allows it, a node on the new build cannot register, and says what to do (its
    // data directory keeps the identity it made, never registered: the next start there registers it).
    await assert.rejects(
      net.add({ enclave: next.path }),
      new RegExp(
        `\\(MeasurementNotAllowed\\): its owner allows it with anonify policy allow-measurement ${next.measurement}`,
      ),
    );
    took("a node on the new build refused before the owner allows it");
    // 1. The owner allows the new measurement; the policy signers admit it beside the old one.
    await policy("allow-measurement", next.measurement);
    await publishAdmitting(1, [oldMeasurement, next.measurement]);
    took("the new measurement allowed and admitted");

    // 2. Node by node: the new build joins, then the old node is taken out, leaves and stops.
    const oldEnclaves = old.map((s) => s.enclave.toLowerCase());
    for (const [i] of old.entries()) {
      const leaving = serving[0]!;
      const joined = await net.add({ enclave: next.path, peers: serving.map((n) => n.url) });
      took(`new node ${i + 1} started (registered)`);
      await until(`the new node ${joined.url} to be ready`, () => ready(joined.url), JOIN_TIMEOUT_MS).catch(
        async (error: Error) => {
          // The joiner can only say not_member; the members say why they do not add it, if they know.
          const statuses = await Promise.all(serving.map((n) => nodeStatus(n.url).catch(() => undefined)));
          const declined = [
            ...new Set(statuses.flatMap((s) => s?.declined ?? []).map((d) => `${d.enclave}: ${d.reason}`)),
          ];
          throw new Error(
            `${error.message} (it last said ${lastReadiness.get(joined.url)}; the members decline ${declined.length > 0 ? declined.join("; ") : "nothing"})`,
          );
        },
      );
      serving.push(joined);
      await waitForGroup(members.running(), { what: "the new node in the group" });
      took(`new node ${i + 1} ready, a member with the state`);
      // What its operator checks before the old node goes: it serves, on the new release.
      const shown = JSON.parse((await anonify("node", "status", "--node", joined.url, "--json")).stdout);
      assert.equal(shown.ready, "ready");
      assert.equal(shown.release, NEXT_RELEASE);
      took(`new node ${i + 1} checked with anonify node status`);
      stream.route(serving.slice(1).map((n) => n.url));
      await stream.drained(leaving.url);
      took(`old node ${i + 1} drained`);
      await anonify(
        ...["node", "leave", "--node", leaving.url, "--admin-token", leaving.process.ready.adminToken],
      );
      serving = serving.slice(1);
      await waitForGroup(members.running(), { what: "the members to remove the old node" });
      await leaving.process.stop();
      took(`old node ${i + 1} left, removed and stopped`);
    }

    // 3. Only the new build is left: the owner disallows the old measurement, and a later document
    // drops it from what members admit. The stream goes on through the new nodes alone.
    await policy("disallow-measurement", oldMeasurement);
    await publishAdmitting(2, [next.measurement]);
    took("the old measurement disallowed and dropped");
    const before = senders.map((s) => acknowledgedBy(s.address));
    await until(
      "every sender served after the old build is gone",
      () => senders.every((s, i) => acknowledgedBy(s.address) >= before[i]! + AFTER_DISALLOW) || undefined,
    );
    await stream.stop();
    t.diagnostic(`${stream.acknowledged.length} transfers acknowledged from ${SENDERS} senders`);

    // Every acknowledged command was applied, once: receipts, nonces and balances agree.
    const acknowledged = stream.acknowledged;
    assert.ok(acknowledged.length >= SENDERS * AFTER_DISALLOW);
    assert.equal(new Set(acknowledged.map((a) => a.id)).size, acknowledged.length);
    for (const a of acknowledged) assert.equal(a.receipt?.status, "applied", `${a.id} at ${a.node}`);
    const sequences = new Set(acknowledged.map((a) => a.receipt!.sequence));
    assert.equal(sequences.size, acknowledged.length, "one place in the ledger each");
    const byOldNodes = acknowledged.filter((a) => oldUrls.includes(a.node));
    assert.ok(byOldNodes.length > 0, "the old nodes took commands during the upgrade");
    await waitForSameSequence(members.running());
    for (const node of serving) {
      for (const sender of senders) {
        const client = await AnonifyClient.connect({ network, node: node.url, account: sender });
        const sent = BigInt(acknowledgedBy(sender.address));
        assert.equal(await client.nextNonce(), sent, `${sender.address}'s nonce at ${node.url}`);
        assert.equal(await client.query("balanceOf", {}), SENDER_FUNDS - sent);
      }
      const sinkClient = await AnonifyClient.connect({ network, node: node.url, account: sink });
      assert.equal(await sinkClient.query("balanceOf", {}), BigInt(acknowledged.length));
    }

    // One state: each new node answers from the same point and digest. The next batch, sealed there
    // by one of them, records its digest there on chain; the others apply it (another digest would
    // stop them as diverged) and every answer's digest is then the one the chain records.
    const sinkClients = await Promise.all(
      serving.map((n) => AnonifyClient.connect({ network, node: n.url, account: sink })),
    );
    const points = await Promise.all(sinkClients.map(async (c) => (await c.queryAt("balanceOf", {})).at));
    for (const at of points) {
      assert.equal(at.seq, points[0]!.seq);
      assert.equal(at.digest, points[0]!.digest);
    }
    assert.match(points[0]!.digest ?? "", /^0x[0-9a-f]{64}$/);
    const sealedThere = await sinkClients[0]!.call("transfer", { to: newAccount().address, amount: "1" });
    assert.equal(sealedThere.status, "applied");
    await waitForSameSequence(members.running());
    for (const [i, client] of sinkClients.entries()) {
      assert.equal(
        (await client.checkAnswer(points[i]!)).claims,
        1,
        `the chain records ${serving[i]!.url}'s digest`,
      );
      assert.equal(await ready(serving[i]!.url), true, `${serving[i]!.url} serves, not diverged`);
    }

    // The group is the new build's three enclaves; the old ones are out of it.
    const now = await Promise.all(serving.map((n) => nodeStatus(n.url)));
    const group = await waitForGroup(members.running(), { size: NODES });
    assert.deepEqual(
      [...group.members].map((m) => m.toLowerCase()).sort(),
      now.map((s) => s.enclave.toLowerCase()).sort(),
    );
    for (const enclave of oldEnclaves)
      assert.ok(!group.members.some((m) => m.toLowerCase() === enclave), `${enclave} is out`);
    for (const s of now) {
      assert.equal(s.measurement, next.measurement);
      assert.equal(s.release, NEXT_RELEASE);
    }
  });
});
