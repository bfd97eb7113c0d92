// Brings a node's enclave up: unseal (or make) its identity, and register it on chain unless it
// already is. The host stores only the sealed blob and pays the gas; it never holds a key.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { requestReport, serviceRoots } from "../attestation/client.js";
import { rootOverrideFor } from "../attestation/root-overrides.js";
import type { InitResult } from "../boundary/call-results.js";
import type { LedgerWallet } from "../chain/chain.js";
import { writeAtomic } from "../chain/files.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { publishedCollateral } from "../client/published-collateral.js";
import { revertName } from "./chain-io/chain-writer.js";
import type { EnclaveCalls } from "./enclave-process.js";

export const SEALED_IDENTITY_FILE = "sealed-identity.hex";
/** `EnclaveState` in the contract. */
export const ENCLAVE_STATE = ["none", "active", "revoked", "left"] as const;

export type EnclaveRegistration = InitResult & { registered: "already" | "now" };

export class RegistrationError extends Error {
  override name = "RegistrationError";
}

export async function onChainState(wallet: LedgerWallet, contract: Address, enclave: Address) {
  const record = await wallet.publicClient.readContract({
    address: contract,
    abi: anonifyAbi,
    functionName: "getEnclave",
    args: [enclave],
  });
  return { ...record, stateName: ENCLAVE_STATE[record.state] ?? "none" };
}

/** The enclave's record on chain as the API shows it (JSON: the registration time as a decimal string). */
export async function publicRecord(wallet: LedgerWallet, contract: Address, enclave: Address) {
  const record = await onChainState(wallet, contract, enclave);
  return {
    state: record.stateName,
    platform: record.platform,
    debug: record.debug,
    measurement: record.measurement,
    hpkePublicKey: record.hpkePublicKey,
    app: record.app,
    registeredAt: record.registeredAt.toString(),
  };
}

/**
 * A restarted enclave process could not take back the identity the node registered: its platform's
 * sealing lasts for a process only (TDX, SEV-SNP), or its build changed under the running node.
 */
export class IdentityLostError extends Error {
  override name = "IdentityLostError";
  constructor(readonly reason: NonNullable<InitResult["created"]>) {
    super(
      `the restarted enclave is not the node's registered one (${reason}): ` +
        (reason === "platform-cannot-seal"
          ? "its platform cannot seal, so every enclave process is a new member; "
          : "") +
        "restart the node (same --data-dir) and its enclave joins the group anew, with a snapshot",
    );
  }
}

/**
 * Unseals the identity the host kept (or has the enclave make one, kept sealed from then on).
 * `keepIdentity`: the enclave must come back as the one the node registered (a restart within the
 * node); a new identity is refused before its blob replaces the one kept.
 */
export async function initEnclave(
  enclave: EnclaveCalls,
  { hostDir, chainId, contract }: { hostDir: string; chainId: number; contract: Address },
  { keepIdentity = false }: { keepIdentity?: boolean } = {},
): Promise<InitResult> {
  const sealedPath = join(hostDir, SEALED_IDENTITY_FILE);
  const sealedIdentity = existsSync(sealedPath)
    ? (readFileSync(sealedPath, "utf8").trim() as Hex)
    : undefined;
  const init = await enclave.call("init", { chainId, contract, sealedIdentity });
  if (keepIdentity && init.created !== undefined) throw new IdentityLostError(init.created);
  writeAtomic(sealedPath, init.sealedIdentity);
  return init;
}

export async function initAndRegister(params: {
  enclave: EnclaveCalls;
  hostDir: string;
  wallet: LedgerWallet;
  contract: Address;
  /** Where collateral events are read from: the contract's deployment. */
  deployedAtBlock: bigint;
  attestationUrl: string;
}): Promise<EnclaveRegistration> {
  const { enclave, hostDir, wallet, contract } = params;
  const init = await initEnclave(enclave, { hostDir, chainId: wallet.chain.id, contract });

  const state = await onChainState(wallet, contract, init.address);
  if (state.stateName === "active") return { ...init, registered: "already" };
  if (state.stateName !== "none") {
    throw new RegistrationError(`enclave ${init.address} is ${state.stateName} on chain and cannot serve`);
  }
  const quote = await enclave.call("quote");
  const { report, signature } = await requestReport(params.attestationUrl, {
    format: quote.platform,
    evidence: quote.evidence,
    collateral: await chainCollateral(params, quote),
  });
  const { request } = await wallet.publicClient
    .simulateContract({
      account: wallet.account,
      address: contract,
      abi: anonifyAbi,
      functionName: "registerEnclave",
      args: [report, signature, init.address, init.hpkePublicKey, quote.app, quote.evidence],
    })
    .catch(async (error: unknown) => {
      // viem's message names no reason; this one is every upgrade's first pitfall.
      if (revertName(error) !== "MeasurementNotAllowed") throw error;
      const { measurement } = await enclave.call("status");
      throw new RegistrationError(
        `the contract does not allow this enclave's measurement ${measurement} (MeasurementNotAllowed): ` +
          `its owner allows it with anonify policy allow-measurement ${measurement}`,
        { cause: error },
      );
    });
  const hash = await wallet.walletClient.writeContract(request);
  const receipt = await wallet.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new RegistrationError(`registerEnclave reverted in ${hash}`);
  return { ...init, registered: "now" };
}

/**
 * The collateral the chain holds for this evidence, as members find it (Intel's for a DCAP quote,
 * AMD's CRLs for a SEV-SNP report's product): the service judges the evidence with it, and refuses
 * by name a quote that comes without (`collateral_missing`: nothing published for its FMSPC) or
 * with a set past its next update (`collateral_stale`, AMD's CRLs too). Sets are taken
 * only if they verify to the roots the service judges with, so a set of another PKI that anyone
 * published cannot stand in for Intel's. Undefined for platforms without collateral.
 */
async function chainCollateral(
  params: { wallet: LedgerWallet; contract: Address; deployedAtBlock: bigint; attestationUrl: string },
  quote: { platform: string; evidence: Hex },
): Promise<unknown> {
  const { platform, evidence } = quote;
  if (platform !== "sgx" && platform !== "tdx" && platform !== "sev-snp") return undefined;
  const root = rootOverrideFor(platform, await serviceRoots(params.attestationUrl));
  const target = { contract: params.contract, deployedAtBlock: params.deployedAtBlock };
  return publishedCollateral(params.wallet.publicClient, target, platform, evidence, root);
}
