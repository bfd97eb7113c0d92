// The sealing key a platform hands out for one policy: HKDF-SHA256 over the platform's own secret,
// with the platform's label, the policy's code and the identity the policy binds to in `info`, so a
// key for one policy, identity or platform is never the key for another. Each call returns a fresh
// array (callers wipe what they are given).
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  assertEnclaveIdentity,
  type EnclaveIdentity,
  policyIdentity,
  SEAL_POLICY_CODE,
  SEALING_KEY_BYTES,
  type SealPolicy,
} from "../platform.js";

export function policyKey(
  secret: Uint8Array,
  label: Uint8Array,
  policy: SealPolicy,
  identity: EnclaveIdentity,
): Uint8Array {
  assertEnclaveIdentity(identity);
  const code = SEAL_POLICY_CODE[policy];
  if (code === undefined) throw new TypeError(`unknown seal policy ${String(policy)}`);
  const value = policyIdentity(policy, identity);
  const info = new Uint8Array(label.length + 1 + value.length);
  info.set(label, 0);
  info[label.length] = code;
  info.set(value, label.length + 1);
  return hkdf(sha256, secret, undefined, info, SEALING_KEY_BYTES);
}
