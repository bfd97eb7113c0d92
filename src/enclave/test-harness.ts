// For tests only (nothing in the enclave bundle imports it): an enclave in process on the simulated
// platform, typed calls to it, and a client's sealed ERC-20 command.
import assert from "node:assert/strict";
import { bytesToHex, type Hex, type LocalAccount } from "viem";
import { APPS } from "../../apps/index.js";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { CallName, CallParams, CallResult } from "../boundary/calls.js";
import { BOUNDARY_VERSION, type BoundaryError } from "../boundary/frames.js";
import { sealCommand, signCommand } from "../client/command.js";
import { DEV_POLICY_KEYS } from "../protocol/dev-policy-keys.js";
import { appIdOf, appStateOf, type LedgerDomain } from "../protocol/digests.js";
import { appIdentity, type EnclaveContext } from "./context.js";
import { createEnclave, type Enclave, enclaveContext } from "./enclave.js";
import { SIGNATURE_WORKERS_ENV, SignaturePool, signatureWorkersFrom } from "./signature-pool.js";
import { SimPlatform } from "./sim-platform.js";
import { workerUnderTsx } from "./test-signature-pool.js";

export const DOMAIN = { chainId: 31337, contract: `0x${"cd".repeat(20)}` as Hex };
export const MEASURED = {
  measurement: new Uint8Array(32).fill(7),
  signerMeasurement: new Uint8Array(32).fill(9),
};
const CONFIG = {
  app: "erc20",
  /** Not the built app's hash: in process, the code is whatever the tests import. */
  appCodeHash: `0x${"ac".repeat(32)}` as Hex,
  platform: "sim" as const,
  profile: "development" as const,
  policyKeys: DEV_POLICY_KEYS,
  signerMeasurement: bytesToHex(MEASURED.signerMeasurement),
  version: "test",
};

/** The app identity of an in-process enclave running `app` (the erc20 app unless another is given). */
export const identityIn = (app: App<StateValue> = APPS.erc20) => appIdentity(app, CONFIG);
/** The app id of an in-process enclave running `app` (the erc20 app unless another is given). */
export const appIdIn = (app: App<StateValue> = APPS.erc20): Hex => appIdOf(identityIn(app));
/** What such an enclave's state digests name of its app. */
export const appStateIn = (app: App<StateValue> = APPS.erc20): Hex => appStateOf(appIdentity(app, CONFIG));

/** A refusal the enclave answered with. */
export class Refused extends Error {
  constructor(readonly error: BoundaryError) {
    super(`${error.code}: ${error.message}`);
  }
}

/** ANONIFY_SIGNATURE_WORKERS=N runs the tests' enclaves with N signature workers each (default none). */
const workers = signatureWorkersFrom(process.env[SIGNATURE_WORKERS_ENV] ?? "0");

const optionsOn = (platformDir: string, app: App<StateValue> = APPS.erc20) => ({
  platform: new SimPlatform(platformDir),
  measured: MEASURED,
  config: CONFIG,
  app,
  signaturePool: workers > 0 ? new SignaturePool(workers, workerUnderTsx) : undefined,
});

/**
 * An enclave on the simulated platform whose secret lives in `platformDir` (one machine per folder);
 * `app`: other rules under the same measurement, as a test plays an enclave that computes otherwise.
 */
export const enclaveOn = (platformDir: string, app?: App<StateValue>): Enclave =>
  createEnclave(optionsOn(platformDir, app));

/** The context of such an enclave, for tests that drive its calls' functions directly. */
export const contextOn = (platformDir: string): EnclaveContext => enclaveContext(optionsOn(platformDir));

let nextId = 1;
/** A call by name with any arguments, as a host could send it. */
export async function send(enclave: Enclave, call: string, args: unknown): Promise<unknown> {
  const response = await enclave.handle({ v: BOUNDARY_VERSION, id: nextId++, call, args });
  if (!response.ok) throw new Refused(response.error);
  return response.result;
}

export const call = <K extends CallName>(enclave: Enclave, name: K, params: CallParams<K>) =>
  send(enclave, name, params) as Promise<CallResult<K>>;

export async function refusedWith(promise: Promise<unknown>, code: string): Promise<BoundaryError> {
  let caught: unknown;
  await promise.catch((e: unknown) => {
    caught = e;
  });
  assert.ok(caught instanceof Refused, `expected a refusal ${code}`);
  assert.equal(caught.error.code, code, caught.message);
  return caught.error;
}

/** An ERC-20 command signed by `account` and sealed to the enclave's HPKE key, as a client sends it. */
export async function sealedErc20Command(
  account: LocalAccount,
  domain: LedgerDomain,
  hpkePublicKey: Hex,
  nonce: bigint,
  command: { command: string; params: Record<string, string> } = {
    command: "transfer",
    params: { to: account.address, amount: "1" },
  },
): Promise<Hex> {
  const signed = await signCommand(account, domain, { app: "erc20", ...command, nonce });
  return bytesToHex(await sealCommand(signed.signed, hpkePublicKey));
}
