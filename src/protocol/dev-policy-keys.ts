// !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
// THE DEVELOPMENT POLICY KEYS. THEIR PRIVATE KEYS ARE BELOW, COMMITTED AND PUBLIC ON PURPOSE.
//
// Like the simulated TEE's root (src/attestation/sim-root.ts), they let the protocol run without a
// deployment's secrets: the development build (DEFAULT_ENCLAVE_CONFIG) pins these addresses, so
// anyone can sign a development policy (revoke any enclave of a development group). A production
// build pins the deployment's real policy keys (`EnclaveConfig.policyKeys`), held by its operators.
// Never reuse these keys for anything else.
// !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
//
// Each private key is keccak256("anonify.dev-policy-key.v1/<i>") for i = 1, 2, 3.
import type { Address, Hex } from "viem";
import type { PolicyKeys } from "./policy-document.js";

/** PUBLIC ON PURPOSE (see above). */
export const DEV_POLICY_PRIVATE_KEYS: readonly Hex[] = [
  "0x019287fa07b6b9a6b3348cdc8fbe64266c560d795b5259543afd9668ef0ce944",
  "0x9cdb761ab78578ea4dadc4ab7d8f2f0d54c4eaca1ef1b9de36c554182e93d160",
  "0xe42a4627589f1c0e00d6fd8a59104f03d27ca25fdb452dbd026108a064e7a9c3",
];

const DEV_POLICY_SIGNERS: Address[] = [
  "0x23bE0483109412C24b10B5DE70A7800e977734be",
  "0xd409EDaA5B83A27DcC71556cA176FD575622Aa78",
  "0x6B2eC65b623dafBd655F30F5fdcb629dA514578E",
];

/** The development build's pinned policy keys: 2 of the 3 above. */
export const DEV_POLICY_KEYS: PolicyKeys = { threshold: 2, signers: DEV_POLICY_SIGNERS };
