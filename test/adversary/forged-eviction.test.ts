// A malicious host tries to evict every other member. Three honest enclave processes (A, B, C) and
// one member M whose MLS keys the attacker holds (admitted under the development profile through a
// forged sim quote: the sim root key is public; under production it stands for a compromised
// member) follow one chain (`Ledger`: what the contract would emit, in one order). M commits the
// removal of everyone else, and the chain orders it (it is signed by an active enclave): it is void
// for every honest receiver, which keeps its membership and its key; only the slot is spent. Then a
// removal backed by proof takes effect: C's own signed leave, and a policy signed by k of the
// development policy keys revoking M; a forged leave and a policy under the threshold remove nobody.
// Last, A's host slips leaves it forged for everyone else into A's feed: A proposes no removal, and
// its enclave refuses the chain's next real event by name (its view has left the chain's sequence).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, sign } from "viem/accounts";
import type { GroupSummary } from "../../src/boundary/call-results.js";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { EnclaveCallError } from "../../src/boundary/frames.js";
import { EventLog, type UnplacedEvent } from "../../src/enclave/test-chain.js";
import {
  createCommit,
  type GroupState,
  joinFromHandshake,
  membersOf,
  processHandshake,
  RemovedFromGroup,
} from "../../src/group/mls.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { signPolicy } from "../../src/operator/policy.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../src/protocol/dev-policy-keys.js";
import { handshakeDigest, leaveDigest } from "../../src/protocol/digests.js";
import {
  DOMAIN,
  forgedRegistration,
  type Impostor,
  impostor,
  keyPackageOf,
  placedAfter,
  registration,
  TRUST_EVERYONE,
} from "../support/forged-events.js";

/** A commit as its committer signed it: at the point of the sequence it was made at, flagged a rotation or not. */
type SignedCommit = { handshake: Hex; rotation: boolean; baseSeq: string; signature: Hex };

/** The contract's events in its one sequence, one block per event, and the handshake slot. */
class Ledger {
  private readonly log = new EventLog();
  slot = 0n;
  get events(): LedgerEvent[] {
    return this.log.events;
  }
  get position() {
    return this.log.position;
  }
  append(event: UnplacedEvent): void {
    this.log.append(event);
  }
  /** Orders a handshake in the current slot, as `commitHandshake`'s compare-and-swap does. */
  commit(enclave: Hex, signed: SignedCommit): void {
    this.append({ kind: "HandshakeCommitted", epoch: this.slot.toString(), enclave, ...signed });
    this.slot += 1n;
  }
}

/** A node: its real enclave process and its host, which feeds it the chain (and, if malicious, more). */
class Node {
  private delivered = 0;
  address!: Hex;
  constructor(
    readonly name: string,
    readonly enclave: EnclaveProcess,
    private readonly ledger: Ledger,
  ) {}
  async sync(): Promise<void> {
    const events = this.ledger.events.slice(this.delivered);
    if (events.length === 0) return;
    this.delivered += events.length;
    await this.enclave.call("applyEvents", { events });
  }
  /**
   * Events that are on no chain, placed in the sequence right after the last one delivered (their
   * heads computed as the contract would: its inputs are public).
   */
  async forge(events: UnplacedEvent[]): Promise<void> {
    let previous = this.ledger.events[this.delivered - 1]!;
    const placed = events.map((e) => (previous = placedAfter(previous, e)));
    await this.enclave.call("applyEvents", { events: placed });
  }
  async group(): Promise<GroupSummary> {
    return (await this.enclave.call("groupStatus")).group;
  }
  async propose(rotate = false): Promise<SignedCommit | null> {
    await this.sync();
    const proposal = await this.enclave.call("proposeHandshake", { rotate });
    if (proposal.handshake === null) return null;
    const { handshake, rotation, baseSeq, signature } = proposal;
    return { handshake, rotation, baseSeq, signature };
  }
}

describe("a host that forges revocations to evict every other member", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-forged-eviction-"));
  const ledger = new Ledger();
  const nodes: Node[] = [];
  let m: Impostor;
  /** M's group state, held by the attacker. */
  let mState: GroupState | undefined;
  let [a, b, c] = [] as unknown as [Node, Node, Node];

  /** Every node and M catch up with the chain. */
  async function syncAll(): Promise<void> {
    await Promise.all(nodes.map((n) => n.sync()));
  }
  /** Orders `signed` from `enclave`, delivers it everywhere and lets M follow it. */
  async function order(enclave: Hex, signed: SignedCommit): Promise<void> {
    ledger.commit(enclave, signed);
    await syncAll();
    const bytes = hexToBytes(signed.handshake);
    if (!mState) {
      try {
        mState = await joinFromHandshake(bytes, m.mls, TRUST_EVERYONE);
      } catch {
        // Not its Welcome.
      }
    } else if (enclave !== m.address) {
      mState = await processHandshake(mState, bytes, TRUST_EVERYONE);
    }
  }
  /** The first honest node with a commit to offer gets its commit ordered (the compare-and-swap). */
  async function settle(): Promise<boolean> {
    for (const node of [a, b, c]) {
      const handshake = await node.propose();
      if (handshake) {
        await order(node.address, handshake);
        return true;
      }
    }
    return false;
  }
  const groups = () => Promise.all([a, b, c].map((n) => n.group()));
  const leafOf = (state: GroupState, address: Hex) =>
    membersOf(state).find((x) => bytesToHex(x.identity) === address.toLowerCase())!.leafIndex;
  /** M (the attacker's member) commits the removal of `victims`, flagged `rotation`; the chain orders it. */
  async function attackerRemoves(victims: Node[], rotation = false): Promise<void> {
    const commit = await createCommit(
      mState!,
      { remove: victims.map((v) => leafOf(mState!, v.address)) },
      TRUST_EVERYONE,
    );
    // Signed by M's key (the attacker holds it) at the chain's point, as the contract requires.
    const handshake = bytesToHex(commit.handshake);
    const base = ledger.position;
    const signature = await sign({
      hash: handshakeDigest(DOMAIN, ledger.slot, handshake, rotation, base),
      privateKey: m.key,
      to: "hex",
    });
    ledger.commit(m.address, { handshake, rotation, baseSeq: base.seq.toString(), signature });
    await syncAll();
  }

  before(async () => {
    for (const name of ["a", "b", "c"]) {
      const node = new Node(name, EnclaveProcess.start({ dataDir: join(dir, name) }), ledger);
      nodes.push(node);
    }
    [a, b, c] = nodes as [Node, Node, Node];
    m = await impostor();
    let measurement: Hex | undefined;
    for (const node of nodes) {
      const init = await node.enclave.call("init", DOMAIN);
      node.address = init.address.toLowerCase() as Hex;
      measurement = (await node.enclave.call("status")).measurement as Hex;
      const { evidence } = await node.enclave.call("quote");
      const own = await node.enclave.call("keyPackage", { nonce: "0" });
      ledger.append(await registration(init, measurement, evidence));
      ledger.append({
        kind: "KeyPackagePublished",
        enclave: init.address,
        nonce: "0",
        keyPackage: own.keyPackage,
        signature: own.signature,
      });
    }
    ledger.append(await forgedRegistration(join(dir, "attacker-machine"), m, measurement!));
    ledger.append(await keyPackageOf(m));
    let rounds = 0;
    while (await settle()) rounds += 1;
    assert.ok(rounds >= 1);
    const formed = await groups();
    for (const g of formed) assert.equal(g.members.length, 4, "A, B, C and M share one group");
    assert.ok(mState, "M joined");
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.enclave.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("a commit removing every other member is void for every honest receiver: members and key kept", async () => {
    const before = await groups();
    const slot = ledger.slot;
    await attackerRemoves([a, b, c]);
    const after = await groups();
    for (const [i, g] of after.entries()) {
      assert.equal(g.slot, (slot + 1n).toString(), "the forged eviction costs one slot");
      assert.equal(g.removed, false);
      assert.equal(g.member, true);
      assert.deepEqual(g.members, before[i]!.members, "every member kept");
      assert.equal(g.epoch, before[i]!.epoch);
      assert.equal(g.epochKeyFingerprint, before[i]!.epochKeyFingerprint, "the key kept");
      assert.match(g.lastHandshake?.outcome ?? "", /^void: .*without proof/);
    }
    // The group goes on: B rotates, and everyone (M included) follows.
    const rotation = await b.propose(true);
    assert.ok(rotation);
    await order(b.address, rotation);
    const rotated = await groups();
    assert.equal(new Set(rotated.map((g) => g.epochKeyFingerprint)).size, 1);
    assert.notEqual(rotated[0]!.epochKeyFingerprint, before[0]!.epochKeyFingerprint);
    assert.equal(rotated[0]!.members.length, 4);
  });

  test("a rotation signed as a membership change (past the contract's rotation limit) is void for every member", async () => {
    // The contract limits how often one enclave commits rotations, by the flag its enclave signs:
    // a rotation flagged otherwise changes nothing anywhere (only the slot is spent).
    const before = await groups();
    await attackerRemoves([], false);
    for (const [i, g] of (await groups()).entries()) {
      assert.equal(g.lastHandshake?.outcome, "void: flagged a membership change, it is a rotation");
      assert.equal(g.epochKeyFingerprint, before[i]!.epochKeyFingerprint, "the key kept");
      assert.deepEqual(g.members, before[i]!.members);
    }
  });

  test("a leave signed by another key is no proof: the removal it would back is void", async () => {
    const before = await groups();
    ledger.append({
      kind: "EnclaveLeft",
      enclave: b.address,
      nonce: "1",
      signature: await sign({ hash: leaveDigest(DOMAIN, 1n), privateKey: generatePrivateKey(), to: "hex" }),
    });
    assert.equal(await settle(), false, "nobody proposes removing B");
    await attackerRemoves([b]);
    const after = await groups();
    for (const [i, g] of after.entries()) {
      assert.deepEqual(g.members, before[i]!.members);
      assert.equal(g.epochKeyFingerprint, before[i]!.epochKeyFingerprint);
      assert.match(g.lastHandshake?.outcome ?? "", /without proof/);
    }
  });

  test("a policy under the threshold revokes nobody; one signed by k pinned keys removes M", async () => {
    const [k1, k2] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex];
    const revokeM = { version: 1n, revocations: [m.address] };
    const weak = await signPolicy(DOMAIN, revokeM, [k1]);
    ledger.append({ kind: "PolicyPublished", ...weak });
    assert.equal(await settle(), false, "one signature of two needed: nothing proposed");

    const strong = await signPolicy(DOMAIN, revokeM, [k1, k2]);
    ledger.append({ kind: "PolicyPublished", ...strong });
    const proposal = await a.propose();
    assert.ok(proposal, "the revoked member's removal is proposed");
    ledger.commit(a.address, proposal);
    await syncAll();
    await assert.rejects(
      processHandshake(mState!, hexToBytes(proposal.handshake), TRUST_EVERYONE),
      RemovedFromGroup,
    );
    mState = undefined;
    const after = await groups();
    assert.equal(new Set(after.map((g) => g.epochKeyFingerprint)).size, 1);
    for (const g of after) {
      assert.equal(g.lastHandshake?.outcome.startsWith("applied"), true);
      assert.deepEqual(new Set(g.members), new Set([a, b, c].map((n) => n.address)));
    }
  });

  test("a removal backed by the member's own signed leave takes effect", async () => {
    const { signature } = await c.enclave.call("signLeave", { nonce: "1" });
    ledger.append({ kind: "EnclaveLeft", enclave: c.address, nonce: "1", signature });
    assert.equal(await settle(), true, "the departed member's removal is proposed and ordered");
    const [ga, gb, gc] = await groups();
    assert.deepEqual(new Set(ga!.members), new Set([a.address, b.address]));
    assert.equal(ga!.epochKeyFingerprint, gb!.epochKeyFingerprint);
    assert.equal(gc!.removed, true);
    assert.equal(gc!.epochKeyFingerprint, undefined);
  });

  test("forged leaves for every other member slipped into A's feed: A proposes no removal, and refuses the chain's next event", async () => {
    const before = await a.group();
    const forgedLeave = async (enclave: Hex): Promise<UnplacedEvent> => ({
      kind: "EnclaveLeft",
      enclave,
      nonce: "2",
      signature: await sign({ hash: leaveDigest(DOMAIN, 2n), privateKey: generatePrivateKey(), to: "hex" }),
    });
    await a.forge(await Promise.all([b.address, m.address].map(forgedLeave)));
    assert.equal(await a.enclave.call("proposeHandshake", { rotate: false }).then((p) => p.handshake), null);
    const after = await a.group();
    assert.deepEqual(after.members, before.members);
    assert.equal(after.epochKeyFingerprint, before.epochKeyFingerprint);
    // The chain goes on; A's view left its sequence at the forged events, so the next real event
    // does not follow what A applied, and A refuses it by name.
    const rotation = await b.propose(true);
    assert.ok(rotation);
    ledger.commit(b.address, rotation);
    await assert.rejects(
      a.sync(),
      (e: unknown) => e instanceof EnclaveCallError && e.code === "out_of_order",
    );
  });
});
