// No acknowledged command is lost at an upgrade (src/enclave/retired-commands.ts): A (tally v1)
// acknowledged commands that were not ordered before the upgrade document — one in a batch its host
// gets ordered after the document, one still queued, one taken in the window between the document's
// ordering and A applying it. At the document each gets a failed receipt, `upgraded`, naming the
// position and the app to send it to (before the fix their senders waited forever: A refused
// `commandStatus` with `upgraded`); the void batch applies nowhere, the same signed bytes sent to a
// v2 node apply there once, a second copy is answered as taken and applies no second time, and a
// restart keeps the receipts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, mock } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { CommandStatusAnswer } from "../../boundary/call-results.js";
import { openReceipt, sealCommand } from "../../client/command.js";
import { parseRefusalReason } from "../../protocol/receipts.js";
import { REFUSED_SEQUENCE } from "../replies.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";
import { FULL_SEAL_INTERVAL_MS } from "./checkpoint.js";
import {
  type Member,
  order,
  query,
  sealedAdd,
  snapshotOf,
  TALLY_V2,
  upgradeDocument,
  V2,
  v1Network,
} from "./test-upgrade.js";

const [alice, bob, carol] = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey())) as [
  ReturnType<typeof privateKeyToAccount>,
  ReturnType<typeof privateKeyToAccount>,
  ReturnType<typeof privateKeyToAccount>,
];

type Sent = Awaited<ReturnType<typeof sealedAdd>>;

/** The receipt `answer` carries for `sent`, opened as its sender opens it. */
async function opened(answer: CommandStatusAnswer | { status: "unknown" } | undefined, sent: Sent) {
  assert.ok(
    answer && "receipt" in answer && answer.receipt,
    `a receipt for ${sent.id}, got ${JSON.stringify(answer)}`,
  );
  return openReceipt(sent.responseKey, hexToBytes(answer.receipt), { domain: DOMAIN, digest: sent.id });
}

describe("commands acknowledged by a v1 node but not ordered before the upgrade (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-upgrade-receipts-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const chain = new TestChain();
  let a: Member;
  let b: Member;
  let inFlight: Sent;
  let queued: Sent;
  let inWindow: Sent;
  let upgradeSeq: string;
  let settledAtA: (CommandStatusAnswer | { id: Hex; status: "unknown" })[];

  before(async () => {
    ({ a, b } = await v1Network(chain, dir, alice));

    // Alice's next command is sealed into a batch its host holds; Bob's waits in A's queue.
    inFlight = await sealedAdd(alice, a, 1n, "x", 100);
    await call(a.enclave, "submitCommand", { envelope: inFlight.envelope });
    const [offer] = (await call(a.enclave, "sealBatch", {})).batches;
    assert.ok(offer?.ciphertext);
    queued = await sealedAdd(bob, a, 0n, "x", 10);
    await call(a.enclave, "submitCommand", { envelope: queued.envelope });
    upgradeSeq = chain.push({ kind: "PolicyPublished", ...(await upgradeDocument(1n, true)) }).seq;
    // The window: the document is ordered, A has not applied it yet, so it still takes a command.
    inWindow = await sealedAdd(carol, a, 0n, "x", 1_000);
    await call(a.enclave, "submitCommand", { envelope: inWindow.envelope });
    order(chain, a, offer); // ordered after the document: void everywhere
    settledAtA = (await chain.feed(a.enclave)).settled;
    await chain.feed(b.enclave);
  });

  it("each gets a failed receipt `upgraded` at the document, naming the position and the app to send it to", async () => {
    for (const sent of [inFlight, queued, inWindow]) {
      const pushed = settledAtA.find((s) => s.id === sent.id);
      const asked = await call(a.enclave, "commandStatus", { id: sent.id });
      for (const answer of [pushed, asked]) {
        const receipt = await opened(answer, sent);
        assert.equal(receipt.status, "failed");
        assert.equal(receipt.sequence, REFUSED_SEQUENCE, "never ordered");
        assert.equal(receipt.batch, undefined);
        const { code, detail } = parseRefusalReason(receipt.reason ?? "");
        assert.equal(code, "upgraded");
        assert.match(detail, new RegExp(`upgraded at event ${upgradeSeq} .*node of app ${V2}`));
      }
    }
    const status = await call(a.enclave, "groupStatus", {});
    assert.deepEqual([status.ledger.queued, status.ledger.inFlight], [0, 0]);
    assert.equal(status.ledger.skippedBatches, "1", "A's batch of before the document is void");
    // Nothing more is taken: a command after the document is refused at once.
    await refusedWith(
      call(a.enclave, "submitCommand", { envelope: (await sealedAdd(carol, a, 1n, "x", 1)).envelope }),
      "upgraded",
    );
  });

  it("restarted from a state sealed after the document, A still serves those receipts and queues none again", async () => {
    const tick = () => call(a.enclave, "proposeHandshake", {});
    mock.timers.enable({ apis: ["Date"], now: Date.now() + FULL_SEAL_INTERVAL_MS });
    let sealed: Hex | undefined;
    try {
      mock.timers.tick(FULL_SEAL_INTERVAL_MS);
      sealed = (await tick()).sealedState;
    } finally {
      mock.timers.reset();
    }
    assert.ok(sealed, "sealed past the interval");
    const restarted = enclaveOn(join(dir, "a"));
    await call(restarted, "init", { ...DOMAIN, sealedIdentity: a.sealedIdentity });
    const restored = await call(restarted, "restoreState", { sealedState: sealed });
    assert.deepEqual([restored.ledger.queued, restored.ledger.inFlight], [0, 0]);
    const receipt = await opened(await call(restarted, "commandStatus", { id: queued.id }), queued);
    assert.match(receipt.reason ?? "", /^upgraded: /);
  });

  it("the same signed bytes sent to a v2 node apply there once; the void batch applied nowhere", async () => {
    const c = await chain.register(enclaveOn(join(dir, "c"), TALLY_V2));
    await Promise.all([a, b, c].map((m) => chain.feed(m.enclave)));
    assert.ok(await chain.commit(a), "A adds C");
    const toA = await chain.feed(a.enclave);
    await chain.feed(b.enclave);
    assert.ok((await chain.feed(c.enclave)).ledger.syncing);
    const { bytes, commitment } = await snapshotOf(a, toA.snapshots[0]!);
    await call(c.enclave, "installSnapshot", { bytes, commitment });
    assert.deepEqual(
      await query(alice, c, "entry", { name: "x" }),
      { count: 5n, last: null },
      "none of the three",
    );

    for (const sent of [inFlight, queued, inWindow]) {
      const envelope = bytesToHex(await sealCommand(sent.signed, c.hpkePublicKey));
      const { id } = await call(c.enclave, "submitCommand", { envelope });
      assert.equal(id, sent.id, "the same command: the client needs no new signature");
    }
    assert.equal(await chain.batch(c), 3);
    await chain.feed(c.enclave);
    for (const sent of [inFlight, queued, inWindow]) {
      const receipt = await opened(await call(c.enclave, "commandStatus", { id: sent.id }), sent);
      assert.equal(receipt.status, "applied");
    }
    assert.deepEqual(await query(alice, c, "entry", { name: "x" }), {
      count: 5n + 100n + 10n + 1_000n,
      last: carol.address.toLowerCase(),
    });
    // A copy of one sent again is answered as taken before (ordered) and applies no second time.
    const again = bytesToHex(await sealCommand(queued.signed, c.hpkePublicKey));
    const resent = await call(c.enclave, "submitCommand", { envelope: again });
    assert.deepEqual(resent, { id: queued.id, repeated: "ordered" });
    assert.equal(await chain.batch(c), 0, "nothing queued again");
  });
});
