// Test fixtures for the ledger: a real Anvil, the deployed contract, and signing keys for its actors.
import { type Address, BaseError, ContractFunctionRevertedError, type Hex, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import { ANVIL_MNEMONIC, type Anvil, startAnvil } from "../../src/chain/anvil.js";
import {
  type AnonifyWriteArgs,
  connectLedger,
  deployAnonify,
  type LedgerWallet,
  withWallet,
  writeAnonifyMined,
} from "../../src/chain/chain.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { mnemonicKey } from "../../src/chain/keys.js";
import { publishDevPolicy } from "../../src/operator/policy.js";
import {
  type AttestationReport,
  type ChainPosition,
  enclaveBinding,
  encodeReport,
  type LedgerDomain,
  reportDigest,
} from "../../src/protocol/digests.js";

export function anvilKey(index: number): Hex {
  return mnemonicKey(ANVIL_MNEMONIC, index);
}

/** A view function of the contract, read through its owner's wallet. */
export const readAnonify = <T>(
  f: { owner: LedgerWallet; contract: Address },
  functionName: string,
  args: readonly unknown[] = [],
) =>
  f.owner.publicClient.readContract({
    address: f.contract,
    abi: anonifyAbi,
    functionName,
    args,
  } as never) as Promise<T>;

/** The contract's newest point of its event sequence (position and head): what a signer names that read it all. */
export async function latestPoint(f: { owner: LedgerWallet; contract: Address }): Promise<ChainPosition> {
  const seq = await readAnonify<bigint>(f, "eventCount");
  return { seq, head: await readAnonify<Hex>(f, "headAt", [seq]) };
}

export type LedgerFixture = {
  anvil: Anvil;
  owner: LedgerWallet;
  contract: Address;
  domain: LedgerDomain;
  stop(): Promise<void>;
};

/**
 * Anvil with the contract deployed. `rotationInterval`: seconds between one enclave's key rotations
 * (default 0 here: these tests rotate at will; the contract's own default is 60).
 */
export async function startLedgerFixture(
  options: { dataDir?: string; blockTime?: number; rotationInterval?: number } = {},
): Promise<LedgerFixture> {
  const anvil = await startAnvil(options);
  const ledger = await connectLedger(anvil.rpcUrl);
  const owner = withWallet(ledger, anvilKey(0));
  const contract = await deployAnonify(owner);
  await ownerCall({ owner, contract }, "setRotationInterval", [options.rotationInterval ?? 0]);
  return { anvil, owner, contract, domain: { chainId: anvil.chainId, contract }, stop: () => anvil.stop() };
}

/** A deployed contract and its owner's wallet, on Anvil or any other chain. */
export type OwnedContract = Pick<LedgerFixture, "owner" | "contract">;

/** The owner's policy calls. */
type OwnerCall =
  | "setMeasurementAllowed"
  | "setTrustedSigner"
  | "setDebugAllowed"
  | "setMaxReportAge"
  | "setRotationInterval"
  | "revokeEnclave";

/**
 * Revokes an enclave as a deployment does: the owner revokes it on chain (the public gate for its
 * batches and handshakes) and a policy signed by the development policy keys revokes it inside
 * every enclave (the only revocation enclaves act on). `version` must be above the last one published.
 */
export async function revokeWithDevPolicy(
  f: LedgerFixture,
  enclave: Address,
  version: bigint,
): Promise<void> {
  await ownerCall(f, "revokeEnclave", [enclave]);
  await publishDevPolicy(f.owner, f.domain, { version, revocations: [enclave] });
}

/** Sends an owner call and waits for it to be mined. */
export async function ownerCall<const F extends OwnerCall>(
  f: OwnedContract,
  functionName: F,
  args: AnonifyWriteArgs<F>,
): Promise<void> {
  await writeAnonifyMined(f.owner, f.contract, functionName, args);
}

export type TestEnclave = { key: Hex; address: Address; hpkePublicKey: Hex; app: Hex };

/** The app the contract tests' enclaves say they run: the contract records it, never judges it. */
export const TEST_APP: Hex = `0x${"a1".repeat(32)}`;

export function newEnclave(): TestEnclave {
  const key = generatePrivateKey();
  return {
    key,
    address: privateKeyToAccount(key).address,
    hpkePublicKey: toHex(crypto.getRandomValues(new Uint8Array(32))),
    app: TEST_APP,
  };
}

export const MEASUREMENT: Hex = `0x${"11".repeat(32)}`;
export const SIGNER_MEASUREMENT: Hex = `0x${"22".repeat(32)}`;

/** A report as the attestation service would issue it for `enclave`, signed by `serviceKey`. */
/**
 * Evidence the contract passes through to its event without parsing it: a stand-in of a DCAP quote's
 * size (~4.5 KiB with its certificate chain), so gas figures stay realistic. It verifies nowhere, so
 * no enclave admits an enclave registered with it.
 */
export const STAND_IN_EVIDENCE: Hex = `0x${"5a".repeat(4608)}`;

export async function signedReport(
  domain: LedgerDomain,
  enclave: TestEnclave,
  serviceKey: Hex,
  overrides: Partial<AttestationReport> = {},
): Promise<{ report: Hex; signature: Hex; evidence: Hex }> {
  const report = encodeReport({
    platform: 1,
    measurement: MEASUREMENT,
    signerMeasurement: SIGNER_MEASUREMENT,
    debug: false,
    tcbStatus: 0,
    reportData: enclaveBinding(domain, enclave.address, enclave.hpkePublicKey, enclave.app),
    issuedAt: BigInt(Math.floor(Date.now() / 1000)),
    ...overrides,
  });
  const signature = await privateKeyToAccount(serviceKey).signMessage({
    message: { raw: reportDigest(report) },
  });
  return { report, signature, evidence: STAND_IN_EVIDENCE };
}

export async function signRaw(key: Hex, digest: Hex): Promise<Hex> {
  return sign({ hash: digest, privateKey: key, to: "hex" });
}

/** Resolves to the custom error name a contract call reverted with, or fails the test. */
export async function revertName(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof BaseError) {
      const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
      if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName)
        return revert.data.errorName;
    }
    throw error;
  }
  throw new Error("expected the call to revert, but it succeeded");
}

/** A new enclave, registered with a report the service of `serviceKey` signed. */
export async function registeredEnclave(f: OwnedContract & { domain: LedgerDomain }, serviceKey: Hex) {
  const enclave = newEnclave();
  await writeAnonifyMined(
    f.owner,
    f.contract,
    "registerEnclave",
    await registrationArgs(f.domain, enclave, serviceKey),
  );
  return enclave;
}

/** `registerEnclave`'s arguments for `enclave`, with a report as the service would sign it. */
export async function registrationArgs(domain: LedgerDomain, enclave: TestEnclave, serviceKey: Hex) {
  const { report, signature, evidence } = await signedReport(domain, enclave, serviceKey);
  return [report, signature, enclave.address, enclave.hpkePublicKey, enclave.app, evidence] as const;
}
