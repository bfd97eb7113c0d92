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
import { bytesToHex, type Hex, hexToBytes, keccak256, toBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { buildEnclaveBundle, DEFAULT_ENCLAVE_CONFIG } from "../../src/build/enclave-bundle.js";
import { SimPlatform } from "../../src/enclave/sim-platform.js";
import { generateMemberKeys, joinFromHandshake, type MemberKeys } from "../../src/group/mls.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import {
  enclaveBinding,
  encodeReport,
  keyPackageDigest,
  nextHandshakeHead,
  reportDigest,
  ZERO_HASH,
} from "../../src/protocol/digests.js";

const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };
const SIGNER_MEASUREMENT = bytesToHex(new Uint8Array(32).fill(9));
const TRUST_EVERYONE = { validateCredential: async () => true };

/** A key pair the host holds and passes off as an enclave: address, HPKE key, MLS keys. */
type Impostor = { key: Hex; address: Hex; hpkePublicKey: Hex; mls: MemberKeys; keyPackage: Hex };

async function impostor(): Promise<Impostor> {
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address.toLowerCase() as Hex;
  const { keys, keyPackage } = await generateMemberKeys(hexToBytes(address));
  const hpkePublicKey = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
  return { key, address, hpkePublicKey, mls: keys, keyPackage: bytesToHex(keyPackage) };
}

/** The host's own attestation "service" key: it signs whatever report it likes. */
const hostService = privateKeyToAccount(generatePrivateKey());

/** What the host feeds: each event one block after the last. */
class ForgedFeed {
  private block = 1;
  constructor(private readonly enclave: EnclaveProcess) {}
  async feed(events: Record<string, unknown>[]): Promise<void> {
    const positioned = events.map((e) => ({ ...e, block: String(this.block++), logIndex: 0 }) as LedgerEvent);
    await this.enclave.call("applyEvents", { events: positioned });
  }
}

/** A sim quote for `reportData` and `measurement` from the host's own machine: the sim root key is public. */
async function forgedSimQuote(dir: string, binding: Hex, measurement: Hex): Promise<Hex> {
  const reportData = new Uint8Array(64);
  reportData.set(hexToBytes(binding));
  const quote = await new SimPlatform(dir).quote(reportData, {
    measurement: hexToBytes(measurement),
    signerMeasurement: hexToBytes(SIGNER_MEASUREMENT),
  });
  return bytesToHex(quote);
}

async function registration(
  who: { address: Hex; hpkePublicKey: Hex },
  measurement: Hex,
  evidence: Hex,
): Promise<Record<string, unknown>> {
  const report = encodeReport({
    platform: 0,
    measurement,
    signerMeasurement: SIGNER_MEASUREMENT,
    debug: true,
    tcbStatus: 7,
    reportData: enclaveBinding(DOMAIN, who.address, who.hpkePublicKey),
    issuedAt: BigInt(Math.floor(Date.now() / 1000)),
  });
  return {
    kind: "EnclaveRegistered",
    enclave: who.address,
    platform: 0,
    measurement,
    debug: true,
    hpkePublicKey: who.hpkePublicKey,
    report,
    reportSignature: await hostService.signMessage({ message: { raw: reportDigest(report) } }),
    evidence,
  };
}

/** A registration whose evidence is a sim quote the host made itself, binding `who` correctly. */
async function forgedRegistration(
  dir: string,
  who: Impostor,
  measurement: Hex,
  quotedMeasurement: Hex = measurement,
): Promise<Record<string, unknown>> {
  const binding = enclaveBinding(DOMAIN, who.address, who.hpkePublicKey);
  return registration(who, measurement, await forgedSimQuote(dir, binding, quotedMeasurement));
}

async function keyPackageOf(who: Impostor, signingKey: Hex = who.key): Promise<Record<string, unknown>> {
  const { keyPackage } = who;
  return {
    kind: "KeyPackagePublished",
    enclave: who.address,
    nonce: "0",
    keyPackage,
    signature: await sign({
      hash: keyPackageDigest(DOMAIN, 0n, keyPackage),
      privateKey: signingKey,
      to: "hex",
    }),
  };
}

/** Starts an enclave and feeds it the forged policy events and its own (genuine) registration. */
async function startMember(dataDir: string, bundle?: string) {
  const enclave = EnclaveProcess.start({ dataDir, ...(bundle ? { bundle } : {}) });
  const init = await enclave.call("init", DOMAIN);
  const { measurement } = await enclave.call("status");
  const quote = await enclave.call("quote");
  const own = await enclave.call("keyPackage", { nonce: "0" });
  const feed = new ForgedFeed(enclave);
  await feed.feed([
    { kind: "TrustedSignerSet", signer: hostService.address, trusted: true },
    { kind: "MeasurementAllowed", measurement, allowed: true },
    { kind: "DebugAllowedSet", allowed: true },
    await registration(init, measurement, quote.evidence),
    {
      kind: "KeyPackagePublished",
      enclave: init.address,
      nonce: "0",
      keyPackage: own.keyPackage,
      signature: own.signature,
    },
  ]);
  return { enclave, init, measurement: measurement as Hex, quote, feed };
}

/** Whether a handshake carries a Welcome that these keys open (what the host wants: the epoch key). */
async function opens(handshake: Hex, keys: MemberKeys): Promise<boolean> {
  try {
    await joinFromHandshake(hexToBytes(handshake), keys, TRUST_EVERYONE);
    return true;
  } catch {
    return false;
  }
}

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
        head: nextHead(member.init.address, rotation.handshake),
        handshake: rotation.handshake,
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

/** The contract's handshake hash chain after the first handshake (slot 0). */
function nextHead(enclave: Hex, handshake: Hex): Hex {
  return nextHandshakeHead(ZERO_HASH, 0n, enclave, handshake);
}
