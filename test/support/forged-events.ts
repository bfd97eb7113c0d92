// What a malicious host feeds a real enclave process in the adversary tests: contract events it
// forges (registrations with a report it signed itself, sim quotes it made — the sim root key is
// public —, key packages for MLS keys it holds), and the enclave's own genuine registration.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import type { LedgerEvent } from "../../src/boundary/chain-events.js";
import { SimPlatform } from "../../src/enclave/sim-platform.js";
import { generateMemberKeys, joinFromHandshake, type MemberKeys } from "../../src/group/mls.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { enclaveBinding, encodeReport, keyPackageDigest, reportDigest } from "../../src/protocol/digests.js";

export const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };
export const SIGNER_MEASUREMENT = bytesToHex(new Uint8Array(32).fill(9));
export const TRUST_EVERYONE = { validateCredential: async () => true };

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

/** What the host feeds: each event one block after the last. */
export class ForgedFeed {
  private block = 1;
  constructor(private readonly enclave: EnclaveProcess) {}
  async feed(events: Record<string, unknown>[]): Promise<void> {
    const positioned = events.map((e) => ({ ...e, block: String(this.block++), logIndex: 0 }) as LedgerEvent);
    await this.enclave.call("applyEvents", { events: positioned });
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

export async function registration(
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
export async function forgedRegistration(
  dir: string,
  who: Impostor,
  measurement: Hex,
  quotedMeasurement: Hex = measurement,
): Promise<Record<string, unknown>> {
  const binding = enclaveBinding(DOMAIN, who.address, who.hpkePublicKey);
  return registration(who, measurement, await forgedSimQuote(dir, binding, quotedMeasurement));
}

export async function keyPackageOf(
  who: Impostor,
  signingKey: Hex = who.key,
): Promise<Record<string, unknown>> {
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
export async function startMember(dataDir: string, bundle?: string) {
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
export async function opens(handshake: Hex, keys: MemberKeys): Promise<boolean> {
  try {
    await joinFromHandshake(hexToBytes(handshake), keys, TRUST_EVERYONE);
    return true;
  } catch {
    return false;
  }
}
