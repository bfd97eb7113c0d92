// The host's side of state snapshots that needs no chain: the files it keeps by hash, the route that
// serves them (strictly named, public, ciphertext only), and how the API answers while its node syncs.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type Hex, sha256 } from "viem";
import { ENCLAVE_REQUESTS } from "../../../test/support/enclave-requests.js";
import { EnclaveCallError } from "../../boundary/frames.js";
import { buildNodeApi } from "../api/api.js";
import type { ServedNode } from "../api/api-common.js";
import { NodeMetrics } from "../node-metrics.js";
import { isSnapshotHash, SNAPSHOTS_DIR, SnapshotStore } from "./snapshot-store.js";

const dirs: string[] = [];
const hostDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-snapshots-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

/** A node that stands in for EnclaveNode: its snapshot store, and an enclave that is syncing. */
function syncingNode(dir: string) {
  const syncing = () => {
    throw new EnclaveCallError(
      "syncing",
      "this node joined the group at slot 2 and waits for its state snapshot",
    );
  };
  return {
    hostDir: dir,
    address: `0x${"11".repeat(20)}`,
    registration: { hpkePublicKey: "0x" },
    isSynced: true,
    rotationPending: false,
    snapshots: new SnapshotStore(dir),
    groupStatus: async () => ({
      group: { member: true, epoch: "3", slot: "3", members: [] },
      ledger: {
        sequence: "5",
        batches: "1",
        queued: 0,
        inFlight: 0,
        syncing: { slot: "2", block: "9", sequence: "5" },
      },
    }),
    enclaveStatus: async () => ({ measurement: "0x00", platform: "sim" }),
    chainHead: async () => 7n,
    followedHead: 7n,
    gasBalance: async () => 10n ** 18n,
    warnings: async () => [],
    rpcOutages: [0],
    counts: new NodeMetrics(),
    query: async () => syncing(),
    submitCommand: async () => syncing(),
    commandStatus: async () => syncing(),
  } as unknown as ServedNode;
}

describe("state snapshots at the host", () => {
  test("the store keeps bytes under their SHA-256, whole, and the newest eight", () => {
    const store = new SnapshotStore(hostDir());
    const first = bytes(100, 1);
    const hash = store.write(first);
    assert.equal(hash, sha256(first));
    assert.ok(store.has(hash));
    assert.deepEqual(new Uint8Array(store.read(hash)!), first);
    assert.equal(store.read(sha256(bytes(1))), undefined);
    assert.equal(store.has("0xnothex" as Hex), false);
    // A file changed on disk is still served as it is, but not taken as that snapshot.
    writeFileSync(join(store.dir, `${hash}.bin`), bytes(100, 2));
    assert.ok(store.read(hash));
    assert.equal(store.read(hash, { verified: true }), undefined);
    const past = Date.now() / 1000 - 3600;
    utimesSync(join(store.dir, `${hash}.bin`), past, past);
    for (let i = 0; i < 8; i++) store.write(bytes(10 + i));
    assert.equal(readdirSync(store.dir).length, 8);
    assert.equal(store.has(hash), false, "the oldest went");
    assert.ok(isSnapshotHash(sha256(first)));
    assert.equal(isSnapshotHash(sha256(first).toUpperCase().replace("0X", "0x")), false);
  });

  test("GET /v1/snapshots/:hash serves held bytes as octets, 404 for others, 400 for a malformed name", async () => {
    const dir = hostDir();
    const node = syncingNode(dir);
    const app = buildNodeApi({ node, contract: `0x${"22".repeat(20)}`, chainId: 1 });
    const held = bytes(5000, 9);
    const hash = node.snapshots.write(held);
    const res = await app.inject({ method: "GET", url: `/v1/snapshots/${hash}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/octet-stream");
    assert.deepEqual(new Uint8Array(res.rawPayload), held);
    const unknown = await app.inject({ method: "GET", url: `/v1/snapshots/${sha256(bytes(3))}` });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, "not_found");
    for (const name of [
      hash.toUpperCase(),
      hash.slice(0, -2),
      `${hash}00`,
      "..%2F..%2Fsealed-state.hex",
      `${SNAPSHOTS_DIR}`,
    ]) {
      const bad = await app.inject({ method: "GET", url: `/v1/snapshots/${name}` });
      assert.equal(bad.statusCode, 400, name);
    }
    await app.close();
  });

  test("while syncing: status says so, and commands, queries and statuses are 503 syncing", async () => {
    const app = buildNodeApi({
      node: syncingNode(hostDir()),
      contract: `0x${"22".repeat(20)}`,
      chainId: 1,
    });
    const status = await app.inject({ method: "GET", url: "/v1/status" });
    assert.equal(status.json().syncing, true);
    for (const request of ENCLAVE_REQUESTS) {
      const res = await app.inject(request);
      assert.equal(res.statusCode, 503, request.url);
      assert.equal(res.headers["retry-after"], "1");
      assert.equal(res.json().code, "syncing");
      assert.match(res.json().message, /waits for its state snapshot/);
    }
    await app.close();
  });
});
