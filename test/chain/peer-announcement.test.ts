// Peers announced on chain, on a real Anvil: only an active enclave's signature announces a URL, for
// its record nonce (no one announces for it, no old announcement comes back), outside the event
// sequence; and a joiner's host uses each active enclave's newest announcement only.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Address, type Hex, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { writeAnonifyMined } from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { createLogger } from "../../src/host/log.js";
import { newestAnnouncementOf } from "../../src/host/snapshots/peer-announcer.js";
import { PeerDiscovery } from "../../src/host/snapshots/peer-discovery.js";
import { leaveDigest, peerDigest } from "../../src/protocol/digests.js";
import { MAX_PEER_URL_BYTES } from "../../src/protocol/peer-url.js";
import {
  type LedgerFixture,
  MEASUREMENT,
  newEnclave,
  ownerCall,
  readAnonify,
  registeredEnclave,
  revertName,
  signRaw,
  startLedgerFixture,
  type TestEnclave,
} from "../support/chain.js";

const SERVICE_KEY = generatePrivateKey();
/** What one announcement may cost: an event with a short string and one storage write (the nonce). */
const MAX_ANNOUNCE_GAS = 60_000n;

describe("peers announced on chain", () => {
  let f: LedgerFixture;
  const logs: string[] = [];

  const write = (functionName: "announcePeer" | "leave", args: readonly unknown[]) =>
    writeAnonifyMined(f.owner, f.contract, functionName, args as never);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    readAnonify<T>(f, functionName, args);
  const recordNonce = async (enclave: TestEnclave) =>
    (await read<{ recordNonce: bigint }>("getEnclave", [enclave.address])).recordNonce;

  const registered = () => registeredEnclave(f, SERVICE_KEY);

  /** `enclave` announces `url` for `nonce` (its current record nonce unless given), signed by `key`. */
  async function announce(enclave: TestEnclave, url: string, nonce?: bigint, key = enclave.key) {
    const n = nonce ?? (await recordNonce(enclave));
    return write("announcePeer", [n, url, await signRaw(key, peerDigest(f.domain, n, url))]);
  }

  const discovery = (self: Address) =>
    new PeerDiscovery({
      ledger: f.owner,
      contract: f.contract,
      deployedAtBlock: 0n,
      self: () => self,
      log: createLogger({ write: (l) => logs.push(l) }),
    });

  before(async () => {
    f = await startLedgerFixture();
    await ownerCall(f, "setTrustedSigner", [privateKeyToAccount(SERVICE_KEY).address, true]);
    await ownerCall(f, "setMeasurementAllowed", [MEASUREMENT, true]);
  });
  after(async () => f.stop());

  test("only an active enclave's signature, once per record nonce, within the bound; outside the sequence", async () => {
    assert.equal(
      await read("MAX_PEER_URL_BYTES"),
      BigInt(MAX_PEER_URL_BYTES),
      "the contract's bound is the URL rules'",
    );
    const e = await registered();
    const url = "https://node-1.example:8443/";
    const [count, head] = [await read<bigint>("eventCount"), await read<Hex>("eventHead")];
    const nonce = await recordNonce(e);
    const signature = await signRaw(e.key, peerDigest(f.domain, nonce, url));
    const receipt = await write("announcePeer", [nonce, url, signature]);
    assert.equal(receipt.status, "success");
    assert.ok(receipt.gasUsed < MAX_ANNOUNCE_GAS, `announcing cost ${receipt.gasUsed} gas`);
    const [event] = await f.owner.publicClient.getContractEvents({
      address: f.contract,
      abi: anonifyAbi,
      eventName: "PeerAnnounced",
      args: { enclave: e.address },
      fromBlock: receipt.blockNumber,
      strict: true,
    });
    assert.equal(event?.args.url, url);
    assert.equal(await read("eventCount"), count, "no place in the event sequence");
    assert.equal(await read("eventHead"), head, "the hash chain unchanged");
    assert.equal(await recordNonce(e), nonce + 1n, "the record nonce is used up");

    // The same signed announcement again, or one signed ahead for a later nonce: StalePeer.
    assert.equal(await revertName(write("announcePeer", [nonce, url, signature])), "StalePeer");
    assert.equal(await revertName(announce(e, url, nonce + 5n)), "StalePeer");
    // Anyone else's key (the host's gas account, a stranger): not a registered enclave.
    assert.equal(await revertName(announce(e, url, undefined, generatePrivateKey())), "NotRegistered");
    // The enclave's signature over another URL does not announce this one.
    const other = await signRaw(e.key, peerDigest(f.domain, nonce + 1n, "https://node-1.example/"));
    assert.equal(
      await revertName(write("announcePeer", [nonce + 1n, "https://evil.example/", other])),
      "NotRegistered",
    );
    // Longer than the bound, or empty.
    const long = `https://${"a".repeat(MAX_PEER_URL_BYTES)}.example/`;
    assert.equal(await revertName(announce(e, long)), "PayloadTooLarge");
    assert.equal(await revertName(announce(e, "")), "EmptyPayload");
    assert.equal(
      await revertName(write("announcePeer", [0n, url, toHex(new Uint8Array(64))])),
      "InvalidSignature",
    );

    // Revoked or left: no longer announces.
    const revoked = await registered();
    await ownerCall(f, "revokeEnclave", [revoked.address]);
    assert.equal(await revertName(announce(revoked, url)), "EnclaveNotActive");
    const left = await registered();
    await write("leave", [0n, await signRaw(left.key, leaveDigest(f.domain, 0n))]);
    assert.equal(await revertName(announce(left, url)), "EnclaveNotActive");
  });

  test("a joiner's host asks each active enclave's newest URL, never its own, one that left or was revoked, or junk", async () => {
    const [moved, leaving, revoked, self, junk] = [
      await registered(),
      await registered(),
      await registered(),
      await registered(),
      await registered(),
    ];
    await announce(moved, "http://10.0.0.1:8080/");
    await announce(moved, "http://10.0.0.2:8080/");
    await announce(leaving, "http://10.0.0.3:8080/");
    await announce(revoked, "http://10.0.0.4:8080/");
    await announce(self, "http://10.0.0.5:8080/");
    // Another host's making, signed by its enclave: the contract bounds it, the joiner judges it.
    await announce(junk, "http://user:pw@10.0.0.6:8080/");
    // A stranger's announcement for `moved` is refused on chain, so it is never read.
    assert.equal(
      await revertName(announce(moved, "http://10.6.6.6:8080/", undefined, generatePrivateKey())),
      "NotRegistered",
    );
    const peers = discovery(self.address);
    // This test's announcements (the chain holds the other test's too).
    const ours = async () =>
      (await peers.announced())
        .filter((url) => url.startsWith("http://10.0.0.") || url.includes("later"))
        .sort();
    assert.deepEqual(
      await ours(),
      ["http://10.0.0.2:8080/", "http://10.0.0.3:8080/", "http://10.0.0.4:8080/"],
      "each enclave's newest; not its own, nor junk",
    );
    const nonce = await recordNonce(leaving);
    await write("leave", [nonce, await signRaw(leaving.key, leaveDigest(f.domain, nonce))]);
    await ownerCall(f, "revokeEnclave", [revoked.address]);
    assert.deepEqual(await ours(), ["http://10.0.0.2:8080/"], "the states are read again at each look");
    assert.ok(
      logs.some((l) => l.includes("is not used") && l.includes("credentials")),
      "the junk is said to be dropped",
    );
    assert.ok(
      logs.every((l) => !l.includes("user:pw")),
      "what it holds is not logged",
    );

    // Announced later: found at the next look, by the same reader (no restart).
    const later = await registered();
    await announce(later, "https://later.example/");
    assert.deepEqual(await ours(), ["http://10.0.0.2:8080/", "https://later.example/"]);
    assert.equal(await newestAnnouncementOf(f.owner, f.contract, moved.address, 0n), "http://10.0.0.2:8080/");
    assert.equal(await newestAnnouncementOf(f.owner, f.contract, newEnclave().address, 0n), undefined);
  });
});
