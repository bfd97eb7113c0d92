// The producing host's part, against stand-ins for its enclave, chain and writer: the bytes are read
// out whole and stored by hash; the committer commits at once, the other members only if no
// commitment of the same snapshot appears within the fallback time; a failed commitment is retried.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type Hex, sha256 } from "viem";
import type { SnapshotOffer } from "../../boundary/call-results.js";
import type { LedgerWallet } from "../../chain/chain.js";
import type { ChainWriter } from "../chain-io/chain-writer.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { createLogger } from "../log.js";
import { SnapshotPublisher } from "./snapshot-publisher.js";
import { SnapshotStore } from "./snapshot-store.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Snapshot bytes of ~9 MiB: read out of the enclave in three pieces. */
const BYTES = new Uint8Array(9 * 1024 * 1024 + 5).map((_, i) => i % 251);
const HASH = sha256(BYTES);
const DIGEST = `0x${"d1".repeat(32)}` as Hex;
const offer = (commit: boolean): SnapshotOffer => ({
  slot: "4",
  at: "31",
  stateDigest: DIGEST,
  sequence: "120",
  block: "30",
  hash: HASH,
  size: BYTES.length,
  commit,
});

function publisher(
  options: { onChain?: boolean; sendOk?: boolean[]; fallbackMs?: number; forgotten?: boolean } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "anonify-publisher-"));
  dirs.push(dir);
  const seen = { chunks: 0, signed: [] as string[], sent: [] as unknown[][], logs: [] as string[] };
  const sendOk = [...(options.sendOk ?? [true])];
  const enclave = {
    call: async (name: string, params: Record<string, unknown>) => {
      if (name === "snapshotChunk") {
        seen.chunks++;
        if (options.forgotten) throw new Error("not_found: no snapshot with this hash is held here");
        const offset = params.offset as number;
        const piece = BYTES.subarray(offset, offset + 4 * 1024 * 1024);
        return { bytes: `0x${Buffer.from(piece).toString("hex")}`, total: BYTES.length };
      }
      if (name === "signSnapshot") {
        seen.signed.push(params.nonce as string);
        return { signature: "0x5151", slot: "4", at: "31", stateDigest: DIGEST };
      }
      throw new Error(`unexpected call ${name}`);
    },
  };
  const wallet = {
    publicClient: {
      getContractEvents: async () =>
        options.onChain ? [{ args: { epoch: 4n, snapshotHash: HASH, at: 31n, enclave: "0x01" } }] : [],
      readContract: async () => ({ state: 1, recordNonce: 7n }),
    },
  };
  const writer = {
    send: async (_name: string, args: unknown[]) => {
      seen.sent.push(args);
      return sendOk.shift() ?? true;
    },
  };
  const store = new SnapshotStore(dir);
  const p = new SnapshotPublisher({
    enclave: enclave as unknown as EnclaveCalls,
    store,
    writer: writer as unknown as ChainWriter,
    wallet: wallet as unknown as LedgerWallet,
    contract: `0x${"22".repeat(20)}`,
    self: () => `0x${"33".repeat(20)}`,
    log: createLogger({ write: (l) => seen.logs.push(l) }),
    fallbackMs: options.fallbackMs,
  });
  return { p, seen, store };
}

describe("the snapshot publisher", () => {
  test("stores what its enclave captured, whole, and the committer commits it at once", async () => {
    const { p, seen, store } = publisher();
    await p.take([offer(true)]);
    assert.equal(seen.chunks, 3);
    assert.deepEqual(new Uint8Array(store.read(HASH, { verified: true })!), BYTES);
    assert.equal(await p.commitDue(), true);
    assert.deepEqual(seen.signed, ["7"], "signed for the record nonce on chain");
    assert.deepEqual(seen.sent, [[7n, 4n, 31n, DIGEST, HASH as Hex, "0x5151"]]);
    assert.equal(await p.commitDue(), false, "done");
    assert.ok(seen.logs.some((l) => l.includes("state snapshot committed on chain")));
  });

  test("a member that did not commit the handshake waits, and commits only if nobody did", async () => {
    const waiting = publisher({ fallbackMs: 60_000 });
    await waiting.p.take([offer(false)]);
    assert.equal(await waiting.p.commitDue(), false, "not due before the fallback time");
    assert.deepEqual(waiting.seen.sent, []);

    const committed = publisher({ fallbackMs: 0, onChain: true });
    await committed.p.take([offer(false)]);
    assert.equal(await committed.p.commitDue(), false);
    assert.deepEqual(committed.seen.sent, [], "the committer's commitment is on chain: nothing to send");
    assert.equal(await committed.p.commitDue(), false);

    const stranded = publisher({ fallbackMs: 0 });
    await stranded.p.take([offer(false)]);
    assert.equal(await stranded.p.commitDue(), true);
    assert.equal(stranded.seen.sent.length, 1, "nobody committed: it does");
    assert.ok(stranded.seen.logs.some((l) => l.includes('"fallback":true')));
  });

  test("a snapshot its enclave no longer holds is logged and left to the others; the apply stands", async () => {
    const { p, seen, store } = publisher({ forgotten: true });
    await p.take([offer(true)]);
    assert.equal(store.has(HASH), false);
    assert.equal(await p.commitDue(), false, "nothing to commit: it holds no bytes to serve");
    assert.ok(seen.logs.some((l) => l.includes("state snapshot not stored")));
  });

  test("a failed commitment is retried later, not dropped", async () => {
    const { p, seen } = publisher({ sendOk: [false, true] });
    await p.take([offer(true)]);
    assert.equal(await p.commitDue(), true);
    assert.equal(await p.commitDue(), false, "not again at once");
    assert.equal(seen.sent.length, 1);
  });
});
