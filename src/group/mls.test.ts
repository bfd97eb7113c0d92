import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type AuthenticationService,
  CredentialRejected,
  createCommit,
  createGroup,
  decodeGroupState,
  decodeHandshake,
  decodeMemberKeys,
  EpochMismatch,
  encodeGroupState,
  encodeHandshake,
  encodeMemberKeys,
  epochOf,
  exportSecret,
  GroupMismatch,
  type GroupState,
  generateMemberKeys,
  HandshakeRejected,
  handshakeEpoch,
  InvalidCommit,
  joinFromHandshake,
  keyPackageIdentity,
  MalformedHandshake,
  MalformedKeyPackage,
  MalformedState,
  membersOf,
  NotForUs,
  OwnCommit,
  ownLeafIndex,
  processHandshake,
  RemovedFromGroup,
} from "./mls.js";

const text = (s: string) => new TextEncoder().encode(s);
const name = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const GROUP_ID = text("anonify-test-group");
const LABEL = "anonify state key";
const CONTEXT = text("state-batch");
const KEY_BYTES = 32;

const acceptAll: AuthenticationService = { validateCredential: async () => true };
/** Accepts every identity but `bad` (identities here are names standing in for attestation blobs). */
const rejecting = (bad: string): AuthenticationService => ({
  validateCredential: async (identity) => name(identity) !== bad,
});

const secretOf = async (state: GroupState, label = LABEL, context = CONTEXT) =>
  hex(await exportSecret(state, label, context, KEY_BYTES));

/** The leaf node of `leaf` as stored in the ratchet tree (leaf i is node 2i). */
function leafNode(state: GroupState, leaf: number) {
  const node = state.mls.ratchetTree[2 * leaf];
  assert.equal(node?.nodeType, "leaf");
  return node.leaf;
}

async function member(id: string) {
  return { id, ...(await generateMemberKeys(text(id))) };
}

/** A creates the group and adds B, then C; every member processes every handshake. */
async function threeMembers() {
  const [a, b, c] = await Promise.all([member("alice"), member("bob"), member("carol")]);
  const a0 = await createGroup(GROUP_ID, a.keys);
  const addB = await createCommit(a0, { add: [b.keyPackage] }, acceptAll);
  const a1 = addB.state;
  const b1 = await joinFromHandshake(addB.handshake, b.keys, acceptAll);
  const addC = await createCommit(a1, { add: [c.keyPackage] }, acceptAll);
  const a2 = addC.state;
  const b2 = await processHandshake(b1, addC.handshake, acceptAll);
  const c2 = await joinFromHandshake(addC.handshake, c.keys, acceptAll);
  return { a, b, c, a0, a1, b1, a2, b2, c2, addB: addB.handshake, addC: addC.handshake };
}

describe("group of three", () => {
  it("agrees on the exported secret, which changes every epoch", async () => {
    const g = await threeMembers();
    assert.deepEqual([epochOf(g.a2), epochOf(g.b2), epochOf(g.c2)], [2n, 2n, 2n]);
    const secret2 = await secretOf(g.a2);
    assert.equal(await secretOf(g.b2), secret2);
    assert.equal(await secretOf(g.c2), secret2);
    assert.equal(await secretOf(g.b1), await secretOf(g.a1));
    assert.notEqual(await secretOf(g.a1), secret2);
    assert.notEqual(await secretOf(g.a0), await secretOf(g.a1));
    assert.notEqual(await secretOf(g.a2, LABEL, text("other")), secret2);
    assert.notEqual(await secretOf(g.a2, "other label"), secret2);
  });

  it("lists the members with their identities and leaf indices", async () => {
    const g = await threeMembers();
    for (const state of [g.a2, g.b2, g.c2]) {
      assert.deepEqual(
        membersOf(state).map((m) => [m.leafIndex, name(m.identity)]),
        [
          [0, "alice"],
          [1, "bob"],
          [2, "carol"],
        ],
      );
    }
    assert.deepEqual([ownLeafIndex(g.a2), ownLeafIndex(g.b2), ownLeafIndex(g.c2)], [0, 1, 2]);
    assert.equal(name(keyPackageIdentity(g.c.keyPackage)), "carol");
  });

  it("puts an UpdatePath in add commits too (the committer's leaf is re-keyed)", async () => {
    const g = await threeMembers();
    const before = leafNode(g.a1, 0);
    const after = leafNode(g.a2, 0);
    assert.equal(after.leafNodeSource, "commit");
    assert.notEqual(hex(after.hpkePublicKey), hex(before.hpkePublicKey));
    // Every processor sees the same re-keyed leaf.
    assert.equal(hex(leafNode(g.b2, 0).hpkePublicKey), hex(after.hpkePublicKey));
    assert.equal(hex(leafNode(g.c2, 0).hpkePublicKey), hex(after.hpkePublicKey));
  });

  it("reads the epoch of a handshake without processing it", async () => {
    const g = await threeMembers();
    assert.equal(handshakeEpoch(g.addB), 0n);
    assert.equal(handshakeEpoch(g.addC), 1n);
    const rotation = await createCommit(g.b2, {}, acceptAll);
    assert.equal(handshakeEpoch(rotation.handshake), 2n);
  });

  it("lets a fourth member join through a commit by a non-creator", async () => {
    const g = await threeMembers();
    const d = await member("dave");
    const addD = await createCommit(g.b2, { add: [d.keyPackage] }, acceptAll);
    const b3 = addD.state;
    const a3 = await processHandshake(g.a2, addD.handshake, acceptAll);
    const c3 = await processHandshake(g.c2, addD.handshake, acceptAll);
    const d3 = await joinFromHandshake(addD.handshake, d.keys, acceptAll);
    const secret3 = await secretOf(b3);
    for (const state of [a3, c3, d3]) assert.equal(await secretOf(state), secret3);
    assert.equal(membersOf(d3).length, 4);
    assert.equal(ownLeafIndex(d3), 3);
  });

  it("adds several members in one commit", async () => {
    const [a, ...others] = await Promise.all(["alice", "bob", "carol", "dave", "erin"].map(member));
    const a0 = await createGroup(GROUP_ID, a!.keys);
    const add = await createCommit(a0, { add: others.map((m) => m.keyPackage) }, acceptAll);
    const joined = await Promise.all(others.map((m) => joinFromHandshake(add.handshake, m.keys, acceptAll)));
    const secret = await secretOf(add.state);
    for (const state of joined) assert.equal(await secretOf(state), secret);
  });
});

describe("joining", () => {
  it("throws NotForUs when the Welcome has nothing for these keys", async () => {
    const g = await threeMembers();
    const stranger = await member("stranger");
    await assert.rejects(joinFromHandshake(g.addC, stranger.keys, acceptAll), NotForUs);
    // B's keys were welcomed by the first handshake, not the second.
    await assert.rejects(joinFromHandshake(g.addC, g.b.keys, acceptAll), NotForUs);
    const rotation = await createCommit(g.a2, {}, acceptAll);
    await assert.rejects(joinFromHandshake(rotation.handshake, stranger.keys, acceptAll), NotForUs);
  });

  it("joins with member keys restored from their sealed bytes", async () => {
    const [a, b] = await Promise.all([member("alice"), member("bob")]);
    const restored = decodeMemberKeys(encodeMemberKeys(b.keys));
    const add = await createCommit(await createGroup(GROUP_ID, a.keys), { add: [b.keyPackage] }, acceptAll);
    const b1 = await joinFromHandshake(add.handshake, restored, acceptAll);
    assert.equal(await secretOf(b1), await secretOf(add.state));
    assert.throws(() => decodeMemberKeys(encodeMemberKeys(b.keys).subarray(0, 20)), MalformedState);
  });
});

describe("removal and rotation", () => {
  it("removes a member: it cannot follow the group anymore", async () => {
    const g = await threeMembers();
    const removeC = await createCommit(g.a2, { remove: [2] }, acceptAll);
    const a3 = removeC.state;
    const b3 = await processHandshake(g.b2, removeC.handshake, acceptAll);
    assert.deepEqual(
      membersOf(b3).map((m) => name(m.identity)),
      ["alice", "bob"],
    );
    const secret3 = await secretOf(a3);
    assert.equal(await secretOf(b3), secret3);

    // C learns it was removed; its last state is stuck at the old epoch with the old secret.
    await assert.rejects(processHandshake(g.c2, removeC.handshake, acceptAll), RemovedFromGroup);
    assert.notEqual(await secretOf(g.c2), secret3);

    // The next commit is out of C's reach.
    const next = await createCommit(b3, {}, acceptAll);
    const a4 = await processHandshake(a3, next.handshake, acceptAll);
    await assert.rejects(processHandshake(g.c2, next.handshake, acceptAll), EpochMismatch);
    assert.notEqual(await secretOf(g.c2), await secretOf(a4));
  });

  it("a removal the receiver has no proof for is rejected by every receiver, the removed one included", async () => {
    const g = await threeMembers();
    // Proof for carol only: a commit removing bob and carol (everyone but the committer) is refused.
    const proofFor = (who: string): AuthenticationService => ({
      ...acceptAll,
      validateRemoval: (identity) => name(identity) === who,
    });
    const evict = await createCommit(g.a2, { remove: [1, 2] }, acceptAll);
    for (const [receiver, state] of [
      ["bob", g.b2],
      ["carol", g.c2],
    ] as const) {
      await assert.rejects(
        processHandshake(state, evict.handshake, proofFor("carol")),
        (e: unknown) => e instanceof HandshakeRejected && /without proof/.test(e.message),
        receiver,
      );
    }
    // With proof for carol, a commit removing carol alone takes effect.
    const removeC = await createCommit(g.a2, { remove: [2] }, acceptAll);
    const b3 = await processHandshake(g.b2, removeC.handshake, proofFor("carol"));
    assert.equal(await secretOf(b3), await secretOf(removeC.state));
    await assert.rejects(processHandshake(g.c2, removeC.handshake, proofFor("carol")), RemovedFromGroup);
  });

  it("replaces a member in one commit (remove and add together)", async () => {
    const g = await threeMembers();
    const d = await member("dave");
    const swap = await createCommit(g.b2, { remove: [2], add: [d.keyPackage] }, acceptAll);
    const a3 = await processHandshake(g.a2, swap.handshake, acceptAll);
    const d3 = await joinFromHandshake(swap.handshake, d.keys, acceptAll);
    await assert.rejects(processHandshake(g.c2, swap.handshake, acceptAll), RemovedFromGroup);
    const secret3 = await secretOf(swap.state);
    assert.equal(await secretOf(a3), secret3);
    assert.equal(await secretOf(d3), secret3);
    // Dave takes the blank leaf Carol left.
    assert.deepEqual(
      membersOf(d3).map((m) => [m.leafIndex, name(m.identity)]),
      [
        [0, "alice"],
        [1, "bob"],
        [2, "dave"],
      ],
    );
  });

  it("rotates the key with an empty commit", async () => {
    const g = await threeMembers();
    const rotation = await createCommit(g.c2, {}, acceptAll);
    const c3 = rotation.state;
    const a3 = await processHandshake(g.a2, rotation.handshake, acceptAll);
    const b3 = await processHandshake(g.b2, rotation.handshake, acceptAll);
    const secret3 = await secretOf(c3);
    assert.equal(await secretOf(a3), secret3);
    assert.equal(await secretOf(b3), secret3);
    // A copy from before the rotation still exports the old secret, not the new one.
    assert.notEqual(await secretOf(g.b2), secret3);
    assert.notEqual(hex(leafNode(c3, 2).hpkePublicKey), hex(leafNode(g.c2, 2).hpkePublicKey));
  });

  it("keeps a removed member's pre-rotation copy out of the rotated epoch", async () => {
    const g = await threeMembers();
    const removeB = await createCommit(g.a2, { remove: [1] }, acceptAll);
    const c3 = await processHandshake(g.c2, removeB.handshake, acceptAll);
    const rotation = await createCommit(c3, {}, acceptAll);
    const a4 = await processHandshake(removeB.state, rotation.handshake, acceptAll);
    await assert.rejects(processHandshake(g.b2, rotation.handshake, acceptAll), EpochMismatch);
    assert.notEqual(await secretOf(g.b2), await secretOf(a4));
  });

  it("refuses to remove oneself or an empty leaf, and malformed key packages", async () => {
    const g = await threeMembers();
    await assert.rejects(createCommit(g.a2, { remove: [0] }, acceptAll), InvalidCommit);
    await assert.rejects(createCommit(g.a2, { remove: [7] }, acceptAll), InvalidCommit);
    await assert.rejects(createCommit(g.a2, { remove: [1, 1] }, acceptAll), InvalidCommit);
    await assert.rejects(
      createCommit(g.a2, { add: [text("not a key package")] }, acceptAll),
      MalformedKeyPackage,
    );
    // Adding someone already in the group.
    await assert.rejects(createCommit(g.a2, { add: [g.b.keyPackage] }, acceptAll), InvalidCommit);
  });
});

describe("epochs", () => {
  it("rejects past and future handshakes with EpochMismatch, leaving the state as it was", async () => {
    const g = await threeMembers();
    const sealed = hex(encodeGroupState(g.b2));
    await assert.rejects(processHandshake(g.b2, g.addC, acceptAll), (err: unknown) => {
      assert.ok(err instanceof EpochMismatch);
      assert.equal(err.expected, 2n);
      assert.equal(err.actual, 1n);
      return true;
    });

    const rotate2 = await createCommit(g.a2, {}, acceptAll);
    const rotate3 = await createCommit(rotate2.state, {}, acceptAll);
    await assert.rejects(processHandshake(g.b2, rotate3.handshake, acceptAll), (err: unknown) => {
      assert.ok(err instanceof EpochMismatch);
      assert.equal(err.expected, 2n);
      assert.equal(err.actual, 3n);
      return true;
    });

    assert.equal(hex(encodeGroupState(g.b2)), sealed);
    const b3 = await processHandshake(g.b2, rotate2.handshake, acceptAll);
    const b4 = await processHandshake(b3, rotate3.handshake, acceptAll);
    assert.equal(await secretOf(b4), await secretOf(rotate3.state));
  });

  it("lets the loser of a compare-and-swap drop its pending state and follow the winner", async () => {
    const g = await threeMembers();
    const fromA = await createCommit(g.a2, {}, acceptAll);
    const fromB = await createCommit(g.b2, {}, acceptAll);
    assert.equal(handshakeEpoch(fromA.handshake), handshakeEpoch(fromB.handshake));
    // The chain accepted A's; B processes it from the state it committed from.
    const b3 = await processHandshake(g.b2, fromA.handshake, acceptAll);
    const c3 = await processHandshake(g.c2, fromA.handshake, acceptAll);
    assert.equal(await secretOf(b3), await secretOf(fromA.state));
    assert.equal(await secretOf(c3), await secretOf(fromA.state));
    assert.notEqual(await secretOf(fromB.state), await secretOf(fromA.state));
    // Had B's won, B would adopt its pending state: its own commit is not processable.
    await assert.rejects(processHandshake(g.b2, fromB.handshake, acceptAll), OwnCommit);
  });

  it("rejects a handshake of another group", async () => {
    const g = await threeMembers();
    const [x, y] = await Promise.all([member("xavier"), member("yara")]);
    const other = await createGroup(text("other-group"), x.keys);
    const add = await createCommit(other, { add: [y.keyPackage] }, acceptAll);
    const rotate = await createCommit(add.state, {}, acceptAll);
    await assert.rejects(processHandshake(g.b1, rotate.handshake, acceptAll), GroupMismatch);
  });
});

describe("credentials", () => {
  it("makes the committer's Add fail when the new member's credential is rejected", async () => {
    const g = await threeMembers();
    const mallory = await member("mallory");
    await assert.rejects(
      createCommit(g.a2, { add: [mallory.keyPackage] }, rejecting("mallory")),
      (err: unknown) => {
        assert.ok(err instanceof CredentialRejected);
        assert.equal(name(err.identity), "mallory");
        return true;
      },
    );
  });

  it("makes processors and the joiner refuse an Add a malicious committer made anyway", async () => {
    const g = await threeMembers();
    const mallory = await member("mallory");
    const add = await createCommit(g.a2, { add: [mallory.keyPackage] }, acceptAll);
    await assert.rejects(processHandshake(g.b2, add.handshake, rejecting("mallory")), CredentialRejected);
    await assert.rejects(processHandshake(g.c2, add.handshake, rejecting("mallory")), CredentialRejected);
    // A joiner that does not trust one of the existing members refuses the group.
    await assert.rejects(joinFromHandshake(add.handshake, mallory.keys, rejecting("bob")), (err: unknown) => {
      assert.ok(err instanceof CredentialRejected);
      assert.equal(name(err.identity), "bob");
      return true;
    });
  });

  it("validates the committer on every commit and every member on join, fail-closed on a throw", async () => {
    const g = await threeMembers();
    const seen: string[] = [];
    const recording: AuthenticationService = {
      validateCredential: async (identity) => {
        seen.push(name(identity));
        return true;
      },
    };
    const rotation = await createCommit(g.c2, {}, acceptAll);
    await processHandshake(g.a2, rotation.handshake, recording);
    assert.deepEqual(seen, ["carol"]);

    seen.length = 0;
    const d = await member("dave");
    const addD = await createCommit(g.a2, { add: [d.keyPackage] }, acceptAll);
    await joinFromHandshake(addD.handshake, d.keys, recording);
    assert.deepEqual([...new Set(seen)].sort(), ["alice", "bob", "carol", "dave"]);

    const throwing: AuthenticationService = {
      validateCredential: async () => {
        throw new Error("attestation service down");
      },
    };
    await assert.rejects(processHandshake(g.b2, rotation.handshake, throwing), (err: unknown) => {
      assert.ok(err instanceof CredentialRejected);
      assert.match(String((err.cause as Error).message), /attestation service down/);
      return true;
    });
  });
});

describe("member set", () => {
  /** A digest stand-in: the members' names, sorted and joined (what it digests is what matters here). */
  const names = (identities: readonly Uint8Array[]) => text(identities.map(name).sort().join(","));
  const naming: AuthenticationService = { ...acceptAll, memberSetDigest: names };
  /** A committer whose TEE is broken: it names `claimed` whatever its commit makes. */
  const lying = (claimed: string): AuthenticationService => ({
    ...acceptAll,
    memberSetDigest: () => text(claimed),
  });

  it("the committer names the member set its commit makes; receivers and joiners check it", async () => {
    const g = await threeMembers();
    const d = await member("dave");
    const add = await createCommit(g.a2, { add: [d.keyPackage] }, naming);
    assert.equal(name(decodeHandshake(add.handshake).memberSet!), "alice,bob,carol,dave");
    assert.ok(await processHandshake(g.b2, add.handshake, naming));
    assert.ok(await joinFromHandshake(add.handshake, d.keys, naming));
    const remove = await createCommit(g.a2, { remove: [2] }, naming);
    assert.equal(name(decodeHandshake(remove.handshake).memberSet!), "alice,bob");
  });

  it("a commit that names another member set, or none, is rejected by every receiver and joiner", async () => {
    const g = await threeMembers();
    const d = await member("dave");
    // Carol is removed, yet the handshake says she is still a member: clients would encrypt to her.
    const lie = await createCommit(g.a2, { remove: [2], add: [d.keyPackage] }, lying("alice,bob,carol,dave"));
    const silent = await createCommit(g.a2, { add: [d.keyPackage] }, acceptAll);
    for (const handshake of [lie.handshake, silent.handshake]) {
      await assert.rejects(processHandshake(g.b2, handshake, naming), /names another member set/);
      await assert.rejects(joinFromHandshake(handshake, d.keys, naming), /names another member set/);
    }
  });
});

describe("sealing", () => {
  it("round-trips a state that then processes the next commit and exports the same secret", async () => {
    const g = await threeMembers();
    const bytes = encodeGroupState(g.b2);
    const restored = decodeGroupState(bytes);
    assert.equal(hex(encodeGroupState(restored)), hex(bytes));
    assert.equal(epochOf(restored), 2n);
    assert.equal(await secretOf(restored), await secretOf(g.b2));
    assert.deepEqual(membersOf(restored), membersOf(g.b2));

    // As a processor.
    const rotation = await createCommit(g.a2, {}, acceptAll);
    const b3 = await processHandshake(restored, rotation.handshake, acceptAll);
    assert.equal(await secretOf(b3), await secretOf(rotation.state));

    // As a committer, adding a member, with the pending state sealed too.
    const d = await member("dave");
    const addD = await createCommit(
      decodeGroupState(encodeGroupState(b3)),
      { add: [d.keyPackage] },
      acceptAll,
    );
    const b4 = decodeGroupState(encodeGroupState(addD.state));
    const a4 = await processHandshake(rotation.state, addD.handshake, acceptAll);
    const d4 = await joinFromHandshake(addD.handshake, d.keys, acceptAll);
    const secret4 = await secretOf(b4);
    assert.equal(await secretOf(a4), secret4);
    assert.equal(await secretOf(d4), secret4);

    // The restored state keeps rejecting credentials through the service it is given.
    const mallory = await member("mallory");
    const addM = await createCommit(a4, { add: [mallory.keyPackage] }, acceptAll);
    await assert.rejects(processHandshake(b4, addM.handshake, rejecting("mallory")), CredentialRejected);
  });

  it("rejects malformed sealed state", async () => {
    const g = await threeMembers();
    const bytes = encodeGroupState(g.a2);
    assert.throws(() => decodeGroupState(new Uint8Array()), MalformedState);
    assert.throws(() => decodeGroupState(bytes.subarray(0, bytes.length - 1)), MalformedState);
    assert.throws(() => decodeGroupState(Uint8Array.of(99, ...bytes.subarray(1))), MalformedState);
    assert.throws(() => decodeGroupState(Uint8Array.of(...bytes, 0)), MalformedState);
  });
});

describe("handshake wire format", () => {
  it("round-trips and carries the Welcome only when members are added", async () => {
    const g = await threeMembers();
    const parts = decodeHandshake(g.addC);
    assert.ok(parts.welcome !== undefined);
    assert.equal(hex(encodeHandshake(parts)), hex(g.addC));
    const rotation = await createCommit(g.a2, {}, acceptAll);
    assert.equal(decodeHandshake(rotation.handshake).welcome, undefined);
  });

  it("turns truncated, padded or mislabelled bytes into MalformedHandshake", async () => {
    const g = await threeMembers();
    const bytes = g.addC;
    const { commit, welcome } = decodeHandshake(bytes);
    const memberSet = undefined;
    const broken: Uint8Array[] = [
      new Uint8Array(),
      Uint8Array.of(2),
      Uint8Array.of(1, ...bytes.subarray(1)),
      Uint8Array.of(3, ...bytes.subarray(1)),
      Uint8Array.of(...bytes, 0),
      Uint8Array.of(2, 0xff, 0xff, 0xff, 0xff, ...bytes.subarray(5)),
      encodeHandshake({ commit: welcome!, welcome: commit, memberSet }),
      encodeHandshake({ commit, welcome: commit, memberSet }),
      encodeHandshake({ commit: commit.subarray(0, commit.length - 1), welcome, memberSet }),
      encodeHandshake({ commit: text("garbage"), welcome: undefined, memberSet }),
    ];
    // Every cut of the handshake, coarse steps through the body to keep the test fast.
    for (let cut = 0; cut < bytes.length; cut += cut < 64 ? 1 : 97) broken.push(bytes.subarray(0, cut));
    for (const b of broken) {
      assert.throws(() => handshakeEpoch(b), MalformedHandshake);
      await assert.rejects(processHandshake(g.b2, b, acceptAll), MalformedHandshake);
      await assert.rejects(joinFromHandshake(b, g.c.keys, acceptAll), MalformedHandshake);
    }
  });
});
