// What a malicious host feeds a real enclave process in the adversary tests: contract events it
// forges (registrations with a report it signed itself, sim quotes it made — the sim root key is
// public —, key packages for MLS keys it holds), and the enclave's own genuine registration.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { readBundleInfo } from "../../src/build/enclave-bundle.js";
import { SimPlatform } from "../../src/enclave/sim-platform.js";
import { EventLog, type UnplacedEvent } from "../../src/enclave/test-chain.js";
import {
  type AuthenticationService,
  generateMemberKeys,
  joinFromHandshake,
  type MemberKeys,
} from "../../src/group/mls.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import {
  enclaveBinding,
  encodeReport,
  keyPackageDigest,
  memberSetDigest,
  reportDigest,
} from "../../src/protocol/digests.js";
import { positionAfter } from "../../src/protocol/event-chain.js";

export const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };
export const SIGNER_MEASUREMENT = bytesToHex(new Uint8Array(32).fill(9));
/** An attacker's MLS client: it admits every credential, and names member sets as enclaves do. */
export const TRUST_EVERYONE: AuthenticationService = {
  validateCredential: async () => true,
  memberSetDigest: (identities) => hexToBytes(memberSetDigest(identities.map((id) => bytesToHex(id)))),
};

/** A key pair the host holds and passes off as an enclave: address, HPKE key, MLS keys. */
export type Impostor = { key: Hex; address: Hex; hpkePublicKey: Hex; mls: MemberKeys; keyPackage: Hex };

export async function impostor(): Promise<Impostor> {
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address.toLowerCase() as Hex;
  const { keys, keyPackage } = await generateMemberKeys(hexToBytes(address));
  const hpkePublicKey = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
  return { key, address, hpkePublicKey, mls: keys, keyPackage: bytesToHex(keyPackage) };
}

/** The host's own attestation "service" key: it signs whatever report it likes. */
export const hostService = privateKeyToAccount(generatePrivateKey());

/**
 * An event of the host's own making, placed right after `previous` in the contract's sequence, in
 * the next block: the event chain's head is computed from public inputs, so the host can make it.
 */
export function placedAfter(previous: LedgerEvent, event: UnplacedEvent): LedgerEvent {
  const timestamp = BigInt(previous.timestamp);
  const at = positionAfter({ seq: BigInt(previous.seq), head: previous.head }, event as never, timestamp);
  return {
    ...event,
    seq: at.seq.toString(),
    timestamp: timestamp.toString(),
    head: at.head,
    block: (BigInt(previous.block) + 1n).toString(),
    logIndex: 0,
  } as LedgerEvent;
}

/** What the host feeds: events placed in the contract's sequence as it would place them, each in a block. */
export class ForgedFeed {
  readonly log = new EventLog();
  constructor(private readonly enclave: EnclaveProcess) {}
  async feed(events: UnplacedEvent[]): Promise<void> {
    await this.enclave.call("applyEvents", { events: events.map((e) => this.log.append(e)) });
  }
}

/** A sim quote for `reportData` and `measurement` from the host's own machine: the sim root key is public. */
export async function forgedSimQuote(dir: string, binding: Hex, measurement: Hex): Promise<Hex> {
  const reportData = new Uint8Array(64);
  reportData.set(hexToBytes(binding));
  const quote = await new SimPlatform(dir).quote(reportData, {
    measurement: hexToBytes(measurement),
    signerMeasurement: hexToBytes(SIGNER_MEASUREMENT),
  });
  return bytesToHex(quote);
}

/** The app the built enclave runs: what its members admit, and what an impostor claims to run. */
export const BUILT_APP: Hex = readBundleInfo().app.id;

export async function registration(
  who: { address: Hex; hpkePublicKey: Hex },
  measurement: Hex,
  evidence: Hex,
  app: Hex = BUILT_APP,
): Promise<UnplacedEvent> {
  const report = encodeReport({
    platform: 0,
    measurement,
    signerMeasurement: SIGNER_MEASUREMENT,
    debug: true,
    tcbStatus: 7,
    reportData: enclaveBinding(DOMAIN, who.address, who.hpkePublicKey, app),
    issuedAt: BigInt(Math.floor(Date.now() / 1000)),
  });
  return {
    kind: "EnclaveRegistered",
    enclave: who.address,
    platform: 0,
    measurement,
    debug: true,
    hpkePublicKey: who.hpkePublicKey,
    app,
    report,
    reportSignature: await hostService.signMessage({ message: { raw: reportDigest(report) } }),
    evidence,
  };
}

/** A registration whose evidence is a sim quote the host made itself, binding `who` correctly. */
export async function forgedRegistration(
  dir: string,
  who: Impostor,
  measurement: Hex,
  quotedMeasurement: Hex = measurement,
): Promise<UnplacedEvent> {
  const binding = enclaveBinding(DOMAIN, who.address, who.hpkePublicKey, BUILT_APP);
  return registration(who, measurement, await forgedSimQuote(dir, binding, quotedMeasurement));
}

export async function keyPackageOf(who: Impostor, signingKey: Hex = who.key): Promise<UnplacedEvent> {
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

/** Starts an enclave and feeds it its own (genuine) registration and key package. */
export async function startMember(dataDir: string, bundle?: string) {
  const enclave = EnclaveProcess.start({ dataDir, ...(bundle ? { bundle } : {}) });
  const init = await enclave.call("init", DOMAIN);
  const { measurement } = await enclave.call("status");
  const quote = await enclave.call("quote");
  const own = await enclave.call("keyPackage", { nonce: "0" });
  const feed = new ForgedFeed(enclave);
  await feed.feed([
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
export async function opens(handshake: Hex, keys: MemberKeys): Promise<boolean> {
  try {
    await joinFromHandshake(hexToBytes(handshake), keys, TRUST_EVERYONE);
    return true;
  } catch {
    return false;
  }
}
