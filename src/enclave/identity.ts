// The enclave's identity: a secp256k1 signing key (its address on chain) and an X25519 key that
// clients encrypt to. Both are made inside the enclave and leave it only sealed.
import { x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, type Hex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";

const SECRET_KEY_BYTES = 32;
/** Version byte of the plaintext inside a sealed identity blob. */
const IDENTITY_FORMAT_V1 = 1;
export const IDENTITY_SEAL_LABEL = "identity";

export type EnclaveKeys = {
  readonly signingKey: Uint8Array;
  readonly hpkePrivateKey: Uint8Array;
};

export type PublicIdentity = { address: Hex; hpkePublicKey: Hex };

export function generateKeys(): EnclaveKeys {
  return {
    signingKey: validSecp256k1Key(),
    hpkePrivateKey: x25519.utils.randomSecretKey(),
  };
}

function validSecp256k1Key(): Uint8Array {
  // privateKeyToAccount rejects the (astronomically rare) out-of-range scalar; draw again then.
  for (;;) {
    const key = crypto.getRandomValues(new Uint8Array(SECRET_KEY_BYTES));
    try {
      privateKeyToAccount(bytesToHex(key));
      return key;
    } catch {}
  }
}

export function publicIdentity(keys: EnclaveKeys): PublicIdentity {
  return {
    address: privateKeyToAccount(bytesToHex(keys.signingKey)).address,
    hpkePublicKey: bytesToHex(x25519.getPublicKey(keys.hpkePrivateKey)),
  };
}

export function encodeKeys(keys: EnclaveKeys): Uint8Array {
  const out = new Uint8Array(1 + 2 * SECRET_KEY_BYTES);
  out[0] = IDENTITY_FORMAT_V1;
  out.set(keys.signingKey, 1);
  out.set(keys.hpkePrivateKey, 1 + SECRET_KEY_BYTES);
  return out;
}

export function decodeKeys(bytes: Uint8Array): EnclaveKeys {
  if (bytes.length !== 1 + 2 * SECRET_KEY_BYTES || bytes[0] !== IDENTITY_FORMAT_V1) {
    throw new Error("sealed identity has an unknown format");
  }
  return {
    signingKey: bytes.slice(1, 1 + SECRET_KEY_BYTES),
    hpkePrivateKey: bytes.slice(1 + SECRET_KEY_BYTES),
  };
}

/** Signs a 32-byte digest as the contract's `ecrecover` expects: r ‖ s ‖ v, low s. */
export async function signDigest(keys: EnclaveKeys, digest: Hex): Promise<Hex> {
  return sign({ hash: digest, privateKey: bytesToHex(keys.signingKey), to: "hex" });
}
