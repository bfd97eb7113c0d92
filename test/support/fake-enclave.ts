// An "enclave" the contract's owner registers on its own say (the attack of
// test/adversary/owner-fake-enclave.test.ts): the owner trusts an attestation-service key of its own
// and allows a measurement; the contract never parses evidence, so a stand-in that verifies nowhere
// passes it. A client that judges the evidence itself refuses the enclave.
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { connectLedger, withWallet, writeAnonifyMined } from "../../src/chain/chain.js";
import { anvilKey, MEASUREMENT, newEnclave, ownerCall, registrationArgs, type TestEnclave } from "./chain.js";
import type { TestNet } from "./network.js";

/** The devnet's contract owner: Anvil's first account. */
const OWNER_ACCOUNT = 0;

/**
 * Registers an owner's fake enclave (`fake`, a new one by default) on the devnet's contract, with
 * `evidence` in place of its quote when given; returns its address.
 */
export async function registerFakeEnclave(
  tn: TestNet,
  fake: TestEnclave = newEnclave(),
  evidence?: Hex,
): Promise<Address> {
  const { contract, chainId, rpcUrl } = tn.net;
  const owner = { owner: withWallet(await connectLedger(rpcUrl), anvilKey(OWNER_ACCOUNT)), contract };
  const serviceKey = generatePrivateKey();
  await ownerCall(owner, "setTrustedSigner", [privateKeyToAccount(serviceKey).address, true]);
  await ownerCall(owner, "setMeasurementAllowed", [MEASUREMENT, true]);
  const [report, signature, address, hpkePublicKey, app, quote] = await registrationArgs(
    { chainId, contract },
    fake,
    serviceKey,
  );
  await writeAnonifyMined(owner.owner, contract, "registerEnclave", [
    report,
    signature,
    address,
    hpkePublicKey,
    app,
    evidence ?? quote,
  ]);
  return fake.address;
}
