// A malicious host tries to get a key pair of its own into the group: it feeds its real enclave
// process forged contract events — its own key as a trusted attestation signer, the enclave's
// measurement allow-listed, debug allowed, an `EnclaveRegistered` for an address it holds (a report
// it signed itself, with a correct binding) and a `KeyPackagePublished` for MLS keys it holds. The
// enclave admits members on evidence it verifies itself, so it never proposes adding that member,
// and no Welcome (hence no epoch key) is ever made for the host's keys. Under the development profile
// a simulated quote can be forged by anyone (the sim root key is public, by design): the control
// case shows it is admitted there, and the production build refuses the same forgery.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { keccak256, toBytes } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../../src/build/enclave-bundle.js";
import type { EnclaveProcess } from "../../src/host/enclave-process.js";
import {
  forgedRegistration,
  impostor,
  keyPackageOf,
  opens,
  registration,
  startMember,
} from "../support/forged-events.js";

describe("a host that forges membership for a key pair it holds", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-forged-membership-"));
  const running: EnclaveProcess[] = [];
  let productionBundle: string;
  after(async () => {
    await Promise.all(running.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    productionBundle = (
      await buildEnclaveBundle({
        outFile: join(dir, "production/enclave.mjs"),
        config: { ...DEFAULT_ENCLAVE_CONFIG, profile: "production" },
      })
    ).path;
  });

  test("development build: a forged registration is never proposed unless its evidence verifies, binds and matches", async () => {
    const member = await startMember(join(dir, "dev-member"));
    running.push(member.enclave);
    const propose = (rotate = false) => member.enclave.call("proposeHandshake", { rotate });

    // 1. The member's own genuine quote passed off as the impostor's: it binds another address.
    const stolen = await impostor();
    await member.feed.feed([
      await registration(stolen, member.measurement, member.quote.evidence),
      await keyPackageOf(stolen),
    ]);
    // 2. A forged sim quote with a correct binding, but for another measurement.
    const otherBuild = await impostor();
    await member.feed.feed([
      await forgedRegistration(
        join(dir, "host-machine"),
        otherBuild,
        member.measurement,
        keccak256(toBytes("another build")),
      ),
      await keyPackageOf(otherBuild),
    ]);
    // 3. Evidence that verifies, binds and matches, but a key package signed by another key.
    const unsigned = await impostor();
    await member.feed.feed([
      await forgedRegistration(join(dir, "host-machine"), unsigned, member.measurement),
      await keyPackageOf(unsigned, generatePrivateKey()),
    ]);
    // 4. Garbage evidence.
    const garbage = await impostor();
    await member.feed.feed([
      await registration(garbage, member.measurement, `0x${"5a".repeat(512)}`),
      await keyPackageOf(garbage),
    ]);

    const first = await propose();
    assert.equal(first.handshake, null, "no add is proposed for any of them");
    assert.deepEqual(first.group.members, [member.init.address.toLowerCase()]);
    const rotation = await propose(true);
    assert.ok(rotation.handshake, "a rotation is proposed");
    for (const who of [stolen, otherBuild, unsigned, garbage])
      assert.equal(await opens(rotation.handshake, who.mls), false, "no Welcome for the host's keys");

    // Control: the same forgery with a correctly signed key package passes under development (the
    // sim root key is public, by design), so the refusals above came from the checks, not the setup.
    // The rotation is ordered first (as the chain would), so the next proposal is a fresh commit.
    const forgeable = await impostor();
    await member.feed.feed([
      {
        kind: "HandshakeCommitted",
        epoch: "0",
        enclave: member.init.address,
        rotation: rotation.rotation,
        baseSeq: rotation.baseSeq,
        handshake: rotation.handshake,
        signature: rotation.signature,
      },
      await forgedRegistration(join(dir, "host-machine"), forgeable, member.measurement),
      await keyPackageOf(forgeable),
    ]);
    const add = await propose();
    assert.ok(add.handshake, "the development profile admits a forged sim quote");
    assert.equal(await opens(add.handshake, forgeable.mls), true);
    for (const who of [stolen, otherBuild, unsigned, garbage])
      assert.equal(await opens(add.handshake, who.mls), false, "still no Welcome for the refused ones");
  });

  test("production build: the same perfect sim forgery is refused, and no epoch key reaches the host", async () => {
    const member = await startMember(join(dir, "prod-member"), productionBundle);
    running.push(member.enclave);
    const forged = await impostor();
    await member.feed.feed([
      await forgedRegistration(join(dir, "host-machine"), forged, member.measurement),
      await keyPackageOf(forged),
    ]);
    const proposal = await member.enclave.call("proposeHandshake", { rotate: false });
    assert.equal(proposal.handshake, null, "no add is proposed");
    assert.deepEqual(proposal.group.members, [member.init.address.toLowerCase()]);
    const rotation = await member.enclave.call("proposeHandshake", { rotate: true });
    assert.ok(rotation.handshake);
    assert.equal(await opens(rotation.handshake, forged.mls), false, "no Welcome for the host's keys");
  });
});
