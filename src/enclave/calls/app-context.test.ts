// The deterministic context, through enclaves in process: handlers see the ordering batch's block time
// and randomness of their own, the same in every member and different for every position; a host
// cannot move a command to other randomness or another time without its enclave refusing the events,
// and a member whose handler draws otherwise stops at the next state digest. The app is the test
// lottery (test/fixtures/apps/lottery).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { lottery } from "../../../test/fixtures/apps/lottery/index.js";
import { type App, withResult } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import type { LedgerEvent } from "../../boundary/chain-events.js";
import { openReceipt, sealCommand, signCommand } from "../../client/command.js";
import type { Enclave } from "../enclave.js";
import { TestChain } from "../test-chain.js";
import { call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";

type Member = Awaited<ReturnType<TestChain["register"]>>;
type Sent = { id: Hex; responseKey: Uint8Array; digest: Hex };

const asApp = (app: unknown) => app as App<StateValue>;
/** The block time the test chain starts at: now, since members judge a joiner's evidence at it. */
const START = BigInt(Math.floor(Date.now() / 1000));
/** When the lottery's entries close: a block time the test moves the chain to. */
const CLOSES = START + 100n;

/** The lottery with `roll` drawing its second 32 bytes: a member that uses its randomness otherwise. */
const otherDraw = asApp({
  ...lottery,
  commands: {
    ...lottery.commands,
    roll: {
      params: lottery.commands.roll.params,
      run: (state: StateValue, ctx: { random: (n?: number) => Uint8Array }) => {
        ctx.random();
        return withResult(state, BigInt(ctx.random()[0]!));
      },
    },
  },
});

describe("the deterministic context (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-app-context-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A and B, lottery members of one group (A adds B before any batch); `appOfB`: B's rules. */
  async function network(name: string, appOfB = asApp(lottery)) {
    let time = START;
    const chain = new TestChain(DOMAIN, () => time);
    const a = await chain.register(enclaveOn(join(dir, name, "a"), asApp(lottery)));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const b = await chain.register(enclaveOn(join(dir, name, "b"), appOfB));
    await chain.feed(a.enclave);
    assert.ok(await chain.commit(a), "A adds B");
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    const user = privateKeyToAccount(generatePrivateKey());
    let nonce = 0n;
    const send = async (via: Member, command: string, params: Record<string, string> = {}) => {
      const signed = await signCommand(user, DOMAIN, { app: "lottery", command, params, nonce: nonce++ });
      const envelope = await sealCommand(signed.signed, via.hpkePublicKey);
      const { id } = await call(via.enclave, "submitCommand", {
        envelope: `0x${Buffer.from(envelope).toString("hex")}`,
      });
      return { id, responseKey: signed.responseKey, digest: signed.digest };
    };
    const setTime = (t: bigint) => {
      time = t;
    };
    return { chain, a, b, send, setTime };
  }

  /** The receipt `enclave` keeps for a command, opened as its sender opens it. */
  async function receiptAt(enclave: Enclave, sent: Sent) {
    const answer = await call(enclave, "commandStatus", { id: sent.id });
    assert.ok(answer.receipt, `a receipt for ${sent.id}`);
    return openReceipt(sent.responseKey, hexToBytes(answer.receipt), { digest: sent.digest });
  }

  it("every member sees the batch's block time and the same randomness; each position its own", async () => {
    const { chain, a, b, send, setTime } = await network("same");
    const opened = await send(a, "open", { closesAt: CLOSES.toString() });
    const rolls = [await send(a, "roll"), await send(a, "roll")];
    await chain.batch(a);
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.equal((await receiptAt(b.enclave, opened)).status, "applied");
    const seen = await Promise.all(rolls.map((r) => Promise.all([a, b].map((m) => receiptAt(m.enclave, r)))));
    for (const [atA, atB] of seen) {
      assert.equal(atA!.status, "applied");
      assert.deepEqual(atB!.result, atA!.result, "A and B drew the same");
    }
    assert.notEqual(seen[0]![0]!.result, seen[1]![0]!.result, "two positions, two draws");

    // Entries close at the block time the batch carries, never at a machine's clock.
    const early = await send(a, "enter");
    await chain.batch(a);
    await chain.feed(a.enclave); // a node sees its batch ordered before it seals the next
    setTime(CLOSES);
    const late = await send(a, "enter");
    const draw = await send(a, "draw");
    await chain.batch(a);
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    for (const m of [a, b]) {
      assert.equal((await receiptAt(m.enclave, early)).status, "applied");
      assert.equal((await receiptAt(m.enclave, late)).reason, "entries are closed");
      assert.equal((await receiptAt(m.enclave, draw)).status, "applied");
    }
    // B's own batch: A checks B's state digest before applying it, so both hold one state.
    await send(b, "roll");
    await chain.batch(b);
    const fed = await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.deepEqual(
      fed.map((r) => r.diverged),
      [undefined, undefined],
    );
  });

  it("a host cannot move a command to other randomness or another time: replays, reorders and a changed time are refused", async () => {
    const { chain, a, b, send } = await network("host");
    const first = await send(a, "roll");
    await chain.batch(a);
    await chain.feed(a.enclave);
    const second = await send(a, "roll");
    await chain.batch(a);
    const { cursor } = await call(b.enclave, "groupStatus", {});
    const [one, two] = chain.events.filter((e) => BigInt(e.seq) > BigInt(cursor!.seq)) as [
      LedgerEvent,
      LedgerEvent,
    ];
    const attempts: [string, LedgerEvent[], string][] = [
      ["the second batch first", [two, one], "out_of_order"],
      ["the first batch twice", [one, one, two], "out_of_order"],
      [
        "the first batch at another block time",
        [{ ...one, timestamp: String(START + 999n) }, two],
        "event_mismatch",
      ],
      ["the first batch under another head", [{ ...one, head: two.head }, two], "event_mismatch"],
    ];
    for (const [name, events, code] of attempts) {
      await refusedWith(call(b.enclave, "applyEvents", { events }), code);
      assert.equal(
        (await call(b.enclave, "groupStatus", {})).cursor?.seq,
        cursor!.seq,
        `${name}: nothing applied`,
      );
    }
    // The block number the host reports is not on the chain's hash chain, so handlers never see it:
    // fed other block numbers, B draws what A drew.
    await call(b.enclave, "applyEvents", { events: [one, two].map((e) => ({ ...e, block: "999999" })) });
    await chain.feed(a.enclave);
    for (const sent of [first, second])
      assert.deepEqual((await receiptAt(b.enclave, sent)).result, (await receiptAt(a.enclave, sent)).result);
  });

  it("a member whose handler draws otherwise stops at the next batch's state digest", async () => {
    const { chain, a, b, send } = await network("other", otherDraw);
    await send(a, "roll");
    await chain.batch(a);
    assert.equal((await chain.feed(b.enclave)).diverged, undefined, "B applied the batch its own way");
    await chain.feed(a.enclave);
    await send(a, "roll");
    await chain.batch(a); // sealed on A's state after the first roll
    const atB = await chain.feed(b.enclave);
    assert.match(atB.diverged?.reason ?? "", /the state digest at event \d+ is not this enclave's/);
  });
});
