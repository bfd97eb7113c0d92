// Fixtures for tests that run the real pieces together: Anvil, the contract, the attestation
// service in-process, and enclave processes with their hosts' data directories.
import { join } from "node:path";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type AttestationPolicy, DEVELOPMENT_POLICY } from "../../src/attestation/policy.js";
import { type RunningService, startAttestationService } from "../../src/attestation/service.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { type LedgerWallet, withWallet } from "../../src/chain/chain.js";
import { EnclaveProcess } from "../../src/host/enclave-process.js";
import { anvilKey, type LedgerFixture, ownerCall } from "./chain.js";

export async function startService(
  policy: AttestationPolicy = DEVELOPMENT_POLICY,
  key: Hex = generatePrivateKey(),
): Promise<RunningService> {
  return startAttestationService({ signer: privateKeyToAccount(key), policy });
}

/** Trusts the service, allows the bundle's measurement and (by default) debug/simulated enclaves. */
export async function allowEnclaves(
  f: LedgerFixture,
  service: RunningService,
  measurement: Hex,
  debugAllowed = true,
): Promise<void> {
  await ownerCall(f, "setTrustedSigner", [service.signer, true]);
  await ownerCall(f, "setMeasurementAllowed", [measurement, true]);
  await ownerCall(f, "setDebugAllowed", [debugAllowed]);
}

export function hostWallet(f: LedgerFixture, index: number): LedgerWallet {
  return withWallet(f.owner, anvilKey(index));
}

export function startEnclave(dir: string, logs?: string[], bundle = DEFAULT_ENCLAVE_BUNDLE): EnclaveProcess {
  return EnclaveProcess.start({ dataDir: join(dir, "enclave"), bundle, onLog: (l) => logs?.push(l) });
}
