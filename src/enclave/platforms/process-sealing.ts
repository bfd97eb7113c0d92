// Sealing where the platform has none (TDX and SEV-SNP VMs give no sealing key): a secret made at
// random when the process starts, held in its memory only, never written anywhere. What is sealed
// under it opens in this process and nowhere else, so the enclave's calls that seal work as on any
// platform, and a restarted enclave cannot open what its predecessor sealed: it says so at `init`
// (`created: "platform-cannot-seal"`), makes a new identity and rejoins its group as a new member
// with a snapshot (docs/architecture.md, "Sealing where the platform has none").
import type { EnclaveIdentity, SealPolicy } from "../platform.js";
import { policyKey } from "./policy-key.js";

const PROCESS_SECRET_BYTES = 32;
const PROCESS_SEAL_LABEL = new TextEncoder().encode("anonify.process.seal.v1");

export class ProcessSealing {
  readonly #secret = globalThis.crypto.getRandomValues(new Uint8Array(PROCESS_SECRET_BYTES));

  sealingKey(policy: SealPolicy, identity: EnclaveIdentity): Uint8Array {
    return policyKey(this.#secret, PROCESS_SEAL_LABEL, policy, identity);
  }
}
