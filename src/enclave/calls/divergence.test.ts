// One history, provably (in process): a host that feeds its enclave a history of its own making, and
// a member whose state went another way, are each caught at the first signed claim of another enclave
// that names a point after the fork, and the enclave that catches it stops there for good: it applies,
// answers and signs nothing more, and says why; a restart from its sealed state does not clear it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { App } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import type { ApplyResult } from "../../boundary/call-results.js";
import type { LedgerEvent } from "../../boundary/chain-events.js";
import type { Enclave } from "../enclave.js";
import { erc20WithTransfer } from "../test-apps.js";
import { EventLog, TestChain, type UnplacedEvent } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith, sealedErc20Command } from "../test-harness.js";

type Member = Awaited<ReturnType<TestChain["register"]>>;

/** The event as its host writes it before the contract places it (to place it in a log of its own). */
function unplaced(event: LedgerEvent): UnplacedEvent {
  const { seq: _s, timestamp: _t, head: _h, block: _b, logIndex: _l, ...rest } = event;
  return rest as UnplacedEvent;
}

/** The erc20 app with a transfer that credits one more than it debits: a member that computes otherwise. */
const miscounting = () => erc20WithTransfer((next) => ({ ...next, totalSupply: next.totalSupply + 1n }));

describe("one history, provably (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-divergence-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A and B in one group (A adds B before any batch); `appOfB`: B's rules. */
  async function network(name: string, appOfB?: App<StateValue>) {
    const chain = new TestChain();
    const a = await chain.register(enclaveOn(join(dir, name, "a")));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const b = await chain.register(enclaveOn(join(dir, name, "b"), appOfB));
    await chain.feed(a.enclave);
    assert.ok(await chain.commit(a), "A adds B");
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    const owner = privateKeyToAccount(generatePrivateKey());
    let nonce = 0n;
    const submit = async (via: Member, command: string, params: Record<string, string>, by = owner) =>
      call(via.enclave, "submitCommand", {
        envelope: await sealedErc20Command(by, DOMAIN, via.hpkePublicKey, nonce++, { command, params }),
      });
    return { chain, a, b, owner, submit };
  }

  /** A diverged enclave refuses every call that would apply, answer or sign, and offers no batch. */
  async function stopped(enclave: Enclave, someone: LocalAccount, hpkePublicKey: `0x${string}`) {
    await refusedWith(call(enclave, "applyEvents", { events: [] }), "diverged");
    await refusedWith(
      call(enclave, "submitCommand", {
        envelope: await sealedErc20Command(someone, DOMAIN, hpkePublicKey, 0n),
      }),
      "diverged",
    );
    assert.deepEqual((await call(enclave, "sealBatch", { maxCommands: 64 })).batches, []);
    assert.equal((await call(enclave, "proposeHandshake", { rotate: true })).handshake, null);
    // Nor signs what others would check against their own state: a snapshot commitment, a key package.
    await refusedWith(
      call(enclave, "signSnapshot", { nonce: "0", hash: `0x${"11".repeat(32)}` }),
      "diverged",
    );
    await refusedWith(call(enclave, "keyPackage", { nonce: "0" }), "diverged");
  }

  it("a host that drops, repeats, reorders or changes an event is refused by name, with nothing applied", async () => {
    const { chain, a, b, submit } = await network("order");
    await submit(a, "construct", { totalSupply: "1000" });
    await chain.batch(a);
    assert.ok(await chain.commit(a, true), "A rotates after the batch");
    const { cursor } = await call(b.enclave, "groupStatus", {});
    const pending = chain.events.filter((e) => BigInt(e.seq) > BigInt(cursor!.seq));
    const [batch, handshake] = pending as [LedgerEvent, LedgerEvent];
    assert.deepEqual([batch.kind, handshake.kind], ["BatchSubmitted", "HandshakeCommitted"]);
    const attempts: [string, LedgerEvent[], string][] = [
      ["the batch dropped", [handshake], "out_of_order"],
      ["the batch fed after the next handshake", [handshake, batch], "out_of_order"],
      ["the batch fed twice", [batch, batch, handshake], "out_of_order"],
      [
        "the batch's ciphertext changed",
        [{ ...batch, ciphertext: "0x00" } as LedgerEvent, handshake],
        "event_mismatch",
      ],
    ];
    for (const [name, events, code] of attempts) {
      await refusedWith(call(b.enclave, "applyEvents", { events }), code);
      const now = await call(b.enclave, "groupStatus", {});
      assert.equal(now.cursor?.seq, cursor!.seq, `${name}: nothing applied`);
    }
    // Fed in order, B reaches A's state: the next batch each seals names one state digest.
    await chain.feed(b.enclave);
    await chain.feed(a.enclave);
    await submit(a, "transfer", { to: a.address, amount: "1" });
    const offers = await call(a.enclave, "sealBatch", { maxCommands: 64 });
    const atB = await call(b.enclave, "groupStatus", {});
    assert.equal(atB.diverged, undefined);
    assert.equal(offers.batches[0]!.baseSeq, atB.cursor?.seq, "both at the same point");
    await chain.batch(a);
    assert.equal((await chain.feed(b.enclave)).diverged, undefined, "and B agrees with A's digest there");
  });

  const forks = [
    {
      name: "drops an event from its enclave's feed",
      substitute: undefined,
      reason: /signed it at event \d+, which this enclave's history does not hold before event/,
    },
    {
      name: "swaps an event of its enclave's feed for one of its own",
      substitute: { kind: "PolicyPublished", document: "0x01", signatures: [] } as UnplacedEvent,
      reason: /does not verify against this enclave's history at event/,
    },
  ];
  for (const [i, fork] of forks.entries())
    it(`a host that ${fork.name} is caught at the next batch signed after it, for good`, async () => {
      const name = `fork-${i}`;
      const { chain, a, b, owner, submit } = await network(name);
      await submit(a, "construct", { totalSupply: "1000" });
      await chain.batch(a);
      await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
      // The event B's host will withhold: a transfer B would otherwise apply.
      const stranger = privateKeyToAccount(generatePrivateKey());
      await submit(a, "transfer", { to: stranger.address, amount: "400" });
      await chain.batch(a);
      const dropped = chain.events.at(-1)!;
      assert.equal(dropped.kind, "BatchSubmitted");
      // Something else is ordered, and A seals its next batch after applying all of it.
      await chain.register(enclaveOn(join(dir, name, "c")));
      await chain.feed(a.enclave);
      await submit(a, "transfer", { to: stranger.address, amount: "1" });
      await chain.batch(a);
      const next = chain.events.at(-1)!;

      // B's host feeds B the chain without that batch (or with an event of its own in its place):
      // every later event placed again in a log of its own (positions, heads) and the batch numbers
      // made to fit, so each event B gets takes the next position and its recomputed head is the one
      // it names: only the signed claims of other enclaves can tell.
      const { cursor } = await call(b.enclave, "groupStatus", {});
      let time = 0n;
      const forked = new EventLog(() => time);
      const place = (event: LedgerEvent | UnplacedEvent, at: LedgerEvent) => {
        time = BigInt(at.timestamp);
        return forked.append("seq" in event ? unplaced(event) : event);
      };
      for (const event of chain.events.filter((e) => BigInt(e.seq) <= BigInt(cursor!.seq)))
        place(event, event);
      assert.equal(forked.position.head, cursor!.head, "up to B's cursor, the same history");
      const fed: LedgerEvent[] = [];
      for (const event of chain.events.filter((e) => BigInt(e.seq) > BigInt(cursor!.seq))) {
        if (event === dropped) {
          if (fork.substitute) fed.push(place(fork.substitute, event));
          continue;
        }
        const moved =
          event === next && dropped.kind === "BatchSubmitted"
            ? { ...event, batch: dropped.batch, firstSequence: dropped.firstSequence }
            : event;
        fed.push(place(moved, event));
      }
      const answer: ApplyResult = await call(b.enclave, "applyEvents", { events: fed });
      assert.ok(answer.diverged, "B stops at the batch that names a point of the real history");
      assert.equal(answer.diverged.seq, fed.at(-1)!.seq);
      assert.match(answer.diverged.reason, fork.reason);
      assert.equal(answer.ledger.batches, "1", "B applied neither the withheld batch nor the next");
      assert.equal(answer.applied, fed.length - 1);
      await stopped(b.enclave, owner, b.hpkePublicKey);

      // A restart from what B sealed does not clear it.
      assert.ok(answer.sealedState, "divergence is sealed at once");
      const restarted = enclaveOn(join(dir, name, "b"));
      await call(restarted, "init", { ...DOMAIN, sealedIdentity: b.sealedIdentity });
      const restored = await call(restarted, "restoreState", { sealedState: answer.sealedState });
      assert.equal(restored.diverged?.seq, answer.diverged.seq);
      await stopped(restarted, owner, b.hpkePublicKey);
      await refusedWith(chain.feed(restarted), "diverged");

      // A, fed the real chain, went on.
      const toA = await chain.feed(a.enclave);
      assert.equal(toA.diverged, undefined);
      assert.equal(toA.ledger.batches, "3");
    });

  it("a member whose state went another way stops at the first batch that names the state there, as does the other", async () => {
    const { chain, a, b, submit } = await network("state", miscounting());
    const holder = privateKeyToAccount(generatePrivateKey());
    await submit(a, "construct", { totalSupply: "1000" });
    await submit(a, "transfer", { to: holder.address, amount: "10" });
    await chain.batch(a);
    const [toA, toB] = await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.equal(toA!.diverged, undefined);
    assert.equal(toB!.diverged, undefined, "B cannot tell yet: nobody has named the state since");
    // Each seals a batch at its cursor, with its own state digest there, and each applies the other's.
    await submit(a, "transfer", { to: holder.address, amount: "1" });
    await chain.batch(a);
    await call(b.enclave, "submitCommand", {
      envelope: await sealedErc20Command(holder, DOMAIN, b.hpkePublicKey, 0n),
    });
    await chain.batch(b);
    const [atA, atB] = await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    for (const [name, answer, batch] of [
      ["A", atA!, "2"],
      ["B", atB!, "1"],
    ] as const) {
      assert.ok(answer.diverged, `${name} stops`);
      assert.equal(answer.diverged.kind, "BatchSubmitted");
      assert.match(answer.diverged.reason, /the state digest at event \d+ is not this enclave's/);
      assert.ok(
        answer.diverged.ours && answer.diverged.theirs && answer.diverged.ours !== answer.diverged.theirs,
      );
      assert.equal(answer.ledger.batches, batch, `${name} applies nothing of the batch that disagrees`);
    }
  });
});
