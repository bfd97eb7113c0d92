// An upgrade with a migration on real node processes, as docs/operations.md §6 ("An app whose state
// changes") tells operators: two `anonify node start` processes run tally v1 (a count per name) with
// commands applied; the owner allows v2's measurement and the policy signers publish a document that
// names v1 upgraded to v2 (`--migrate-app`). At that document both v1 nodes stop applying and say so
// (`/v1/ready`, `/v1/status`, a refusal by name to a v1 command sent after it), and keep serving their
// state as of then; two v2 nodes started at once on fresh data directories with the v1 nodes as peers
// join, migrate that state (each count becomes a record with a new field) and apply v2 commands.
// Senders keep sending through both v1 nodes as the document is published: every command a v1 node
// acknowledged gets a receipt, applied or failed `upgraded` (src/enclave/retired-commands.ts), and
// those sent again to a v2 node with their nonces apply there once. Nothing acknowledged is lost;
// nothing sent to v1 after the document is applied anywhere.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { AnonifyClient, AnonifyClientError } from "../../src/client/anonify-client.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { anvilKey } from "../support/chain.js";
import { newAccount } from "../support/token.js";
import { until } from "../support/wait.js";
import {
  anonify,
  nodeStatus,
  type OperatorNet,
  type OperatorNode,
  startOperatorNet,
} from "./operator-net.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/app-upgrade");
/** Nodes on each version. */
const NODES = 2;
/** The Anvil account that pays for the policy document (nodes use 1 to 4). */
const PUBLISHER_ACCOUNT = 7;
/** How long a v2 node may take to register, join and install its snapshot on 2 shared cores. */
const JOIN_TIMEOUT_MS = 120_000;
/** How long a sender waits for a receipt: a command without one fails the test. */
const RECEIPT_TIMEOUT_MS = 60_000;
/** Senders that keep sending v1 commands while the document is published, through each v1 node. */
const SENDERS_PER_NODE = 2;
/** Log lines a timed-out join shows. */
const LOG_LINES_SHOWN = 120;

type Measured = {
  path: string;
  measurement: Hex;
  app: { name: string; stateVersion: number; id: Hex; codeHash: Hex };
};
type Readiness = { ready: boolean; state: string; reason?: string; message?: string };
type UpgradeStatus = { upgraded: { seq: string; to: Hex; reason: string } | null; appliedSequence: string };

const readiness = async (url: string): Promise<Readiness> =>
  (await (await fetch(new URL("/v1/ready", url))).json()) as Readiness;

/** What one sender's commands became: applied at v1, dropped at the upgrade (`upgraded` receipt). */
type Sent = { applied: number; dropped: bigint[] };

/**
 * Sends `add w 1` through `client` until its node refuses a command by name, waiting for each receipt:
 * every command the node acknowledged ends applied or failed `upgraded` (never without a receipt).
 */
async function sendUntilRefused(client: AnonifyClient): Promise<Sent> {
  const sent: Sent = { applied: 0, dropped: [] };
  for (let nonce = 0n; ; nonce++) {
    let id: Hex;
    let responseKey: Uint8Array;
    try {
      ({ id, responseKey } = await client.send("add", { name: "w", by: 1n }, nonce));
    } catch (error) {
      if (error instanceof AnonifyClientError && error.code === "upgraded") return sent; // not acknowledged
      throw error;
    }
    try {
      assert.equal((await client.waitForReceipt(id, responseKey, RECEIPT_TIMEOUT_MS)).status, "applied");
      sent.applied++;
    } catch (error) {
      if (!(error instanceof AnonifyClientError) || error.code !== "upgraded") throw error;
      assert.match(error.message, /send it again \(same nonce\) to a node of app 0x/);
      sent.dropped.push(nonce);
    }
  }
}

describe("an app upgraded to another state shape on node processes: v1 stops, v2 migrates", () => {
  let net: OperatorNet;
  let dir: string;
  let v1: Measured;
  let v2: Measured;
  const keyFile = (name: string, key: Hex) => {
    const path = join(dir, name);
    writeFileSync(path, `${key}\n`, { mode: 0o600 });
    return path;
  };
  const connect = (account: LocalAccount, node: OperatorNode) =>
    AnonifyClient.connect({
      network: readNetworkProfile(net.profile),
      node: node.url,
      account,
      app: "tally",
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "anonify-app-upgrade-"));
    const build = async (version: string) =>
      JSON.parse(
        (
          await anonify(
            ...["enclave", "build", "--app", "tally", "--apps-dir", join(FIXTURES, version)],
            ...["--out", join(dir, `tally-${version}.mjs`), "--json"],
          )
        ).stdout,
      ) as Measured;
    [v1, v2] = [await build("v1"), await build("v2")];
    assert.deepEqual([v1.app.stateVersion, v2.app.stateVersion], [1, 2]);
    net = await startOperatorNet(NODES, { enclave: { path: v1.path, measurement: v1.measurement } });
  });
  after(async () => {
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("v1 nodes halt at the document, v2 nodes migrate their state and go on", async (t) => {
    const [first, second] = net.nodes as [OperatorNode, OperatorNode];
    const alice = newAccount();
    const bob = newAccount();
    const atFirst = await connect(alice, first);
    for (const [name, by] of [
      ["x", 5n],
      ["y", 3n],
    ] as const)
      assert.equal((await atFirst.call("add", { name, by })).status, "applied");
    assert.equal(await (await connect(bob, second)).query("count", { name: "x" }), 5n);

    // The owner allows v2's build; the signers name the upgrade, admitting both builds and both apps.
    const owner = keyFile("owner.key", anvilKey(0));
    await anonify("policy", "allow-measurement", v2.measurement, "--network", net.profile, "--key", owner);
    const doc = join(dir, "upgrade.json");
    await anonify(
      ...["policy", "document", "--network", net.profile, "--version", "1", "--out", doc],
      ...["--admit", `sim:${v1.measurement}`, "--admit", `sim:${v2.measurement}`],
      ...[
        "--migrate-app",
        [v1, v2].map(({ app }) => `${app.name}:${app.stateVersion}:${app.codeHash}`).join(","),
      ],
    );
    for (const [i, key] of DEV_POLICY_PRIVATE_KEYS.slice(0, 2).entries())
      await anonify("policy", "sign", doc, "--key", keyFile(`signer-${i}.key`, key));
    // Senders keep sending v1 commands through both nodes while the document is published: some are
    // acknowledged but not ordered before it. Each must get a receipt: applied, or failed `upgraded`.
    const senders = [first, second].flatMap((node) =>
      Array.from({ length: SENDERS_PER_NODE }, () => ({ account: newAccount(), node })),
    );
    const sending = Promise.all(
      senders.map(async ({ account, node }) => sendUntilRefused(await connect(account, node))),
    );
    await until(
      "the senders to have commands applied",
      async () => BigInt((await nodeStatus(first.url)).appliedSequence) > 2n || undefined,
    );
    const publisher = keyFile("publisher.key", anvilKey(PUBLISHER_ACCOUNT));
    await anonify("policy", "publish", doc, "--network", net.profile, "--key", publisher);

    // Both v1 nodes stop at it, by name, not diverged; they keep answering their API.
    for (const node of [first, second]) {
      const said = await until(`${node.url} to say it was upgraded`, async () => {
        const r = await readiness(node.url);
        return r.state === "upgraded" ? r : undefined;
      });
      assert.equal(said.ready, false);
      assert.match(said.message ?? "", new RegExp(`upgraded at event \\d+ to app ${v2.app.id}`));
      const status = (await nodeStatus(node.url)) as unknown as UpgradeStatus;
      assert.equal(status.upgraded?.to, v2.app.id);
    }
    const upgradedAt = ((await nodeStatus(first.url)) as unknown as UpgradeStatus).upgraded!.seq;
    t.diagnostic(`upgraded at event ${upgradedAt}`);
    const outcomes = await sending;
    const appliedAtV1 = outcomes.reduce((n, o) => n + o.applied, 0);
    const dropped = outcomes.reduce((n, o) => n + o.dropped.length, 0);
    t.diagnostic(`senders: ${appliedAtV1} applied at v1, ${dropped} acknowledged and dropped at the upgrade`);
    // A v1 command sent after the upgrade: refused by name, so its sender knows it was not applied.
    const late = await atFirst.call("add", { name: "x", by: 100n }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(late instanceof AnonifyClientError, `refused, not ${String(late)}`);
    assert.equal(late.code, "upgraded", late.message);

    // Two v2 nodes on fresh data directories, started at once, the v1 nodes their peers: added by
    // the v1 members, they install the v1 state of the upgrade point and migrate it.
    const joiners = await Promise.all(
      [0, 1].map(() => net.add({ enclave: v2.path, peers: [first.url, second.url] })),
    );
    await Promise.all(
      joiners.map((joiner) =>
        until(
          `v2 node ${joiner.url} ready`,
          async () => (await readiness(joiner.url)).ready || undefined,
          JOIN_TIMEOUT_MS,
        ).catch(async (error: Error) => {
          // What the nodes said of snapshots and admissions: why a joiner waits, if they know.
          const said = net.logs.filter((l) => !/"level":20/.test(l)).slice(-LOG_LINES_SHOWN);
          throw new Error(
            `${error.message} (it says ${JSON.stringify(await readiness(joiner.url))}; the nodes said:\n${said.join("\n")})`,
          );
        }),
      ),
    );
    const [c, d] = joiners as [OperatorNode, OperatorNode];
    const atC = await connect(alice, c);
    assert.deepEqual(
      await atC.query("entry", { name: "x" }),
      { count: 5n, last: null },
      "migrated, not lost",
    );
    assert.equal(await atC.query("count", { name: "y" }), 3n);
    assert.deepEqual(await atC.query("entry", { name: "w" }), { count: BigInt(appliedAtV1), last: null });
    // A dropped command sent again to a v2 node, with its nonce (it never counted): applied there once.
    for (const [i, { account }] of senders.entries()) {
      const atV2 = await connect(account, c);
      for (const nonce of outcomes[i]!.dropped)
        assert.equal((await atV2.call("add", { name: "w", by: 1n }, nonce)).status, "applied");
      assert.equal(await atV2.nextNonce(), BigInt(outcomes[i]!.applied + outcomes[i]!.dropped.length));
    }
    const w = (await atC.query("entry", { name: "w" })) as { count: bigint };
    assert.equal(w.count, BigInt(appliedAtV1 + dropped), "every acknowledged command applied exactly once");
    // v2 commands apply at every v2 node; the v1 nodes stay halted, not diverged.
    assert.equal((await atC.call("add", { name: "x", by: 2n })).status, "applied");
    const atD = await connect(bob, d);
    const expected = { count: 7n, last: alice.address.toLowerCase() };
    await until("node D to apply C's v2 command", async () => {
      const entry = await atD.query("entry", { name: "x" });
      return JSON.stringify(entry, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ===
        JSON.stringify({ count: "7", last: expected.last })
        ? true
        : undefined;
    });
    assert.equal((await atD.call("add", { name: "z", by: 1n })).status, "applied");
    // D's receipt says D applied it; C applies the same batch when it reads it.
    await until("node C to apply D's v2 command", async () =>
      (await atC.query("count", { name: "z" })) === 1n ? true : undefined,
    );
    for (const node of [first, second]) assert.equal((await readiness(node.url)).state, "upgraded");

    // The old nodes hold nothing that will ever be ordered: they leave, and the v2 members remove them.
    const oldEnclaves = await Promise.all(
      [first, second].map(async (n) => (await nodeStatus(n.url)).enclave),
    );
    for (const node of [first, second]) {
      assert.equal((await nodeStatus(node.url)).queued, 0);
      await anonify("node", "leave", "--node", node.url, "--admin-token", node.process.ready.adminToken);
    }
    await until("the v2 members to remove the old nodes", async () => {
      const views = await Promise.all(joiners.map((n) => nodeStatus(n.url)));
      return (
        views.every(
          (v) => v.members.length === 2 && oldEnclaves.every((e) => !v.members.includes(e.toLowerCase())),
        ) || undefined
      );
    });
    assert.equal(
      (await atD.call("add", { name: "z", by: 1n })).status,
      "applied",
      "the v2 nodes go on alone",
    );
  });
});
