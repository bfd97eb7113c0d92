// A member's MLS keys before it joins: generated inside the enclave, published as a key package,
// kept sealed as our own versioned encoding.
import {
  type Credential,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackage,
  type KeyPackage,
} from "ts-mls";
import { cipherSuite } from "./client-config.js";
import { MalformedKeyPackage, MalformedState } from "./errors.js";
import { decodeFrames, encodeFrames } from "./handshake-frames.js";
import { decodeWhole } from "./handshake-wire.js";
import type { MemberKeys } from "./types.js";

/** First byte of our encoding, so a format change is detected instead of misparsed. */
const MEMBER_KEYS_VERSION = 1;

export async function generateMemberKeys(
  identity: Uint8Array,
): Promise<{ keys: MemberKeys; keyPackage: Uint8Array }> {
  const cs = await cipherSuite();
  const credential: Credential = { credentialType: "basic", identity: identity.slice() };
  const { publicPackage, privatePackage } = await generateKeyPackage(
    credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    cs,
  );
  const keys: MemberKeys = Object.freeze({ keyPackage: publicPackage, privateKeys: privatePackage });
  return { keys, keyPackage: encodeKeyPackage(publicPackage) };
}

function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage });
}

export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const message = decodeWhole(bytes, (b) => decodeMlsMessage(b, 0));
  if (message?.wireformat !== "mls_key_package")
    throw new MalformedKeyPackage("not an MLSMessage/KeyPackage");
  return message.keyPackage;
}

/** The Basic credential identity inside published key package bytes (to inspect before adding). */
export function keyPackageIdentity(keyPackage: Uint8Array): Uint8Array {
  const credential = decodeKeyPackage(keyPackage).leafNode.credential;
  if (credential.credentialType !== "basic") throw new MalformedKeyPackage("not a Basic credential");
  return credential.identity;
}

/** The signature public key a published key package's leaf will sign with (bound on chain to its enclave). */
export function keyPackageSignatureKey(keyPackage: Uint8Array): Uint8Array {
  return decodeKeyPackage(keyPackage).leafNode.signaturePublicKey;
}

/** Seal-ready bytes of member keys (a member waiting for its Welcome may restart). */
export function encodeMemberKeys(keys: MemberKeys): Uint8Array {
  const { initPrivateKey, hpkePrivateKey, signaturePrivateKey } = keys.privateKeys;
  return encodeFrames(MEMBER_KEYS_VERSION, [
    encodeKeyPackage(keys.keyPackage),
    initPrivateKey,
    hpkePrivateKey,
    signaturePrivateKey,
  ]);
}

export function decodeMemberKeys(bytes: Uint8Array): MemberKeys {
  const fields = decodeFrames(bytes, MEMBER_KEYS_VERSION, 4, (m) => new MalformedState(`member keys: ${m}`));
  const [keyPackage, initPrivateKey, hpkePrivateKey, signaturePrivateKey] = fields as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  return Object.freeze({
    keyPackage: decodeKeyPackage(keyPackage),
    privateKeys: { initPrivateKey, hpkePrivateKey, signaturePrivateKey },
  });
}
