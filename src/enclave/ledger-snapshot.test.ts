// What a snapshot carries of a ledger, and what installing one checks beyond the codec: the payload
// is exactly app state, nonces, the count of void batches and the receipts head, each of its type;
// the commitment is an active enclave's, over these bytes at the joiner's own join point; and the
// installed state has the state digest it names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { APPS } from "../../apps/index.js";
import { encodeValue, type StateValue } from "../app/canonical.js";
import { PersistentMap } from "../app/pmap.js";
import { snapshotDigest } from "../protocol/digests.js";
import { sealSnapshot, snapshotHash } from "../protocol/snapshot.js";
import { initialLedgerApp, type LedgerAppState } from "./confidential-ledger.js";
import { ledgerRoot, stateDigestAt } from "./ledger-digest.js";
import {
  captureSnapshot,
  incompleteLedger,
  installSnapshot,
  type SnapshotCommitment,
  SnapshotRefused,
  startSync,
} from "./ledger-snapshot.js";
import { appStateIn, DOMAIN } from "./test-harness.js";

const KEY = new Uint8Array(32).fill(3);
const DIGEST_KEY = new Uint8Array(32).fill(4);
const SENDER: Hex = `0x${"12".repeat(20)}`;
const COMMITTER = privateKeyToAccount(generatePrivateKey());

/** A ledger 3 commands in, as every member sees it. */
function member(): LedgerAppState {
  const app = APPS.erc20;
  return {
    ...initialLedgerApp(app),
    appState: {
      owner: SENDER,
      totalSupply: 9n,
      balances: PersistentMap.empty<Hex, bigint>().set(SENDER, 9n),
      allowances: PersistentMap.empty(),
    },
    nonces: PersistentMap.empty<Hex, bigint>().set(SENDER, 3n),
    sequence: 3n,
    batches: 1n,
    skippedBatches: 0n,
  };
}

/** The handshake that added the joiner: slot 2, at event 9 of the contract's sequence. */
const JOIN = { slot: 2n, seq: 9n, head: `0x${"aa".repeat(32)}` as Hex };

/** The same position as a joiner sees it: it skipped the batch it could not open. */
function joiner(): LedgerAppState {
  const { sequence, batches } = member();
  const queued = { digest: `0x${"01".repeat(32)}` as Hex, sender: SENDER, nonce: 3n, encoded: "0x00" as Hex };
  const ledger = {
    ...initialLedgerApp(APPS.erc20),
    sequence,
    batches,
    skippedBatches: 1n,
    queue: [queued],
  };
  return startSync(ledger, { ...JOIN, block: 15n, key: KEY, digestKey: DIGEST_KEY });
}

/** The state digest of `ledger` at the join point, under the join epoch's key. */
const digestOf = (ledger: LedgerAppState) =>
  stateDigestAt(DIGEST_KEY, JOIN, ledgerRoot(ledger, appStateIn()));

/** A commitment to `bytes` with `stateDigest`, signed by `by` at the joiner's own join point. */
async function commitment(bytes: Uint8Array, stateDigest = digestOf(member()), by = COMMITTER) {
  const digest = snapshotDigest(DOMAIN, 5n, JOIN.slot, JOIN, stateDigest, snapshotHash(bytes));
  return { enclave: by.address, nonce: 5n, stateDigest, signature: await by.sign({ hash: digest }) };
}

/** Installs `bytes` into `ledger` with a commitment by COMMITTER (the only active enclave) unless another is given. */
async function install(ledger: LedgerAppState, bytes: Uint8Array, committed?: SnapshotCommitment) {
  const c = committed ?? (await commitment(bytes));
  return installSnapshot(
    ledger,
    DOMAIN,
    bytes,
    c,
    (e) => e.toLowerCase() === COMMITTER.address.toLowerCase(),
    appStateIn(),
  );
}

const refused = (f: () => Promise<unknown>, code: string, pattern?: RegExp) =>
  assert.rejects(f, (e: unknown) => {
    assert.ok(e instanceof SnapshotRefused, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });

describe("ledger snapshots", () => {
  it("install what a member captured: state, nonces and counts; the joiner's own queue stays its own", async () => {
    const { bytes } = captureSnapshot(member(), DOMAIN, JOIN, KEY);
    const syncing = joiner();
    assert.match(incompleteLedger(syncing, true) ?? "", /waits for its state snapshot/);
    const installed = await install(syncing, bytes);
    assert.equal(installed.syncing, undefined);
    assert.equal(incompleteLedger(installed, true), undefined);
    assert.equal(encodeValue(installed.appState).toString(), encodeValue(member().appState).toString());
    assert.equal(installed.nonces.get(SENDER), 3n);
    assert.equal(installed.skippedBatches, 0n);
    assert.equal(installed.sequence, 3n);
    assert.deepEqual(installed.queue, syncing.queue);
    assert.equal(
      incompleteLedger({ ...initialLedgerApp(APPS.erc20), batches: 1n }, false) !== undefined,
      true,
    );
    assert.equal(incompleteLedger(initialLedgerApp(APPS.erc20), false), undefined, "nothing ordered yet");
  });

  it("refuses a payload that is not exactly app state, nonces, count and receipts head", async () => {
    const { sequence, batches } = member();
    const header = { domain: DOMAIN, ...JOIN, sequence, batches };
    const sealed = (payload: Record<string, unknown>) =>
      sealSnapshot(KEY, header, encodeValue(payload as unknown as StateValue));
    const app = member().appState;
    const nonces = member().nonces;
    const good = { app, nonces, skippedBatches: 0n, receiptsHead: member().receiptsHead };
    await install(joiner(), sealed(good));
    const cases: [string, Record<string, unknown>][] = [
      ["an extra field", { ...good, receipts: new Map() }],
      ["no app state", { nonces, skippedBatches: 0n }],
      ["nonces that are not a map", { ...good, nonces: [] }],
      ["a sender that is not an address", { ...good, nonces: new Map([["alice", 1n]]) }],
      ["a nonce that is not a bigint", { ...good, nonces: new Map([[SENDER, 1]]) }],
      ["a zero next nonce", { ...good, nonces: new Map([[SENDER, 0n]]) }],
      ["a negative count", { ...good, skippedBatches: -1n }],
      ["no receipts head", { app, nonces, skippedBatches: 0n }],
      ["a receipts head that is no digest", { ...good, receiptsHead: "0x01" }],
    ];
    for (const [what, payload] of cases)
      await assert.rejects(
        install(joiner(), sealed(payload)),
        (e: unknown) => e instanceof SnapshotRefused && e.code === "snapshot_invalid",
        what,
      );
    // Bytes that are not canonical JSON at all, sealed correctly.
    await refused(
      () => install(joiner(), sealSnapshot(KEY, header, new TextEncoder().encode("{ }"))),
      "snapshot_invalid",
    );
  });

  it("refuses another key, slot, position or network before anything changes", async () => {
    const good = captureSnapshot(member(), DOMAIN, JOIN, KEY).bytes;
    await refused(
      () => install(joiner(), captureSnapshot(member(), DOMAIN, JOIN, new Uint8Array(32)).bytes),
      "snapshot_invalid",
    );
    await refused(
      () => install(joiner(), captureSnapshot(member(), DOMAIN, { ...JOIN, slot: 3n }, KEY).bytes),
      "snapshot_mismatch",
      /slot 3/,
    );
    // The same slot at another place in the event sequence, or in another history of it.
    for (const at of [
      { ...JOIN, seq: 10n },
      { ...JOIN, head: `0x${"bb".repeat(32)}` as Hex },
    ])
      await refused(
        () => install(joiner(), captureSnapshot(member(), DOMAIN, at, KEY).bytes),
        "snapshot_mismatch",
        /event/,
      );
    const later = { ...member(), sequence: 4n, batches: 2n };
    await refused(
      () => install(joiner(), captureSnapshot(later, DOMAIN, JOIN, KEY).bytes),
      "snapshot_mismatch",
      /sequence 4/,
    );
    const elsewhere = { ...DOMAIN, chainId: 1 };
    await refused(
      () => install(joiner(), captureSnapshot(member(), elsewhere, JOIN, KEY).bytes),
      "wrong_domain",
    );
    await assert.rejects(install(member(), good), /not syncing/);
  });

  it("installs only with an active enclave's commitment to these bytes at this join, and the state it names", async () => {
    const { bytes } = captureSnapshot(member(), DOMAIN, JOIN, KEY);
    const stranger = privateKeyToAccount(generatePrivateKey());
    await refused(
      async () => install(joiner(), bytes, await commitment(bytes, undefined, stranger)),
      "snapshot_mismatch",
      /active enclave/,
    );
    const other = captureSnapshot({ ...member(), skippedBatches: 2n }, DOMAIN, JOIN, KEY).bytes;
    await refused(
      async () => install(joiner(), bytes, await commitment(other)),
      "snapshot_mismatch",
      /over these bytes/,
    );
    // A commitment whose digest is not the state's (a member whose state went another way signed it).
    const theirs = digestOf({ ...member(), nonces: PersistentMap.empty<Hex, bigint>().set(SENDER, 4n) });
    await refused(
      async () => install(joiner(), bytes, await commitment(bytes, theirs)),
      "snapshot_mismatch",
      /digest/,
    );
    await install(joiner(), bytes);
  });
});
