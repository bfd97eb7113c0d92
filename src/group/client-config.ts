// How the adapter runs ts-mls: one cipher suite, key retention for ordered handshakes, and an
// authentication service installed per call (a state at rest trusts no credential).
import {
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type Credential,
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type AuthenticationService as MlsAuthenticationService,
} from "ts-mls";
import { CredentialRejected, GroupError } from "./errors.js";

import type { AuthenticationService, GroupState } from "./types.js";

export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

/** Keep the receiver keys of one past epoch only: handshakes are ordered on chain, nothing arrives late. */
const RETAIN_EPOCHS = 1;
/** ts-mls defaults for message-key generations inside an epoch; we send no application messages. */
const RETAIN_GENERATIONS = 10;
const MAX_FORWARD_RATCHET_STEPS = 200;

let suite: Promise<CiphersuiteImpl> | undefined;
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  return suite;
}

/** Fail closed: a state at rest rejects every credential, each call installs the caller's service. */
const rejectAll: MlsAuthenticationService = { validateCredential: async () => false };

export const restingConfig: ClientConfig = {
  keyRetentionConfig: {
    retainKeysForEpochs: RETAIN_EPOCHS,
    retainKeysForGenerations: RETAIN_GENERATIONS,
    maximumForwardRatchetSteps: MAX_FORWARD_RATCHET_STEPS,
  },
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: rejectAll,
};

export function wrap(client: ClientState): GroupState {
  return Object.freeze({ mls: { ...client, clientConfig: restingConfig } });
}

/**
 * Runs `run` with a ClientConfig whose authService calls `auth`, and turns failures into typed errors:
 * a rejected credential wins over whatever ts-mls then threw (it throws a generic ValidationError).
 */
export async function withAuth<T>(
  auth: AuthenticationService,
  run: (config: ClientConfig) => Promise<T>,
  onFailure: (cause: unknown) => GroupError,
): Promise<T> {
  const rejected: { identity: Uint8Array; cause?: unknown }[] = [];
  const authService: MlsAuthenticationService = {
    async validateCredential(credential: Credential, signaturePublicKey: Uint8Array) {
      if (credential.credentialType !== "basic") {
        rejected.push({ identity: new Uint8Array() });
        return false;
      }
      try {
        if (await auth.validateCredential(credential.identity, signaturePublicKey)) return true;
        rejected.push({ identity: credential.identity });
      } catch (cause) {
        rejected.push({ identity: credential.identity, cause });
      }
      return false;
    },
  };
  try {
    return await run({ ...restingConfig, authService });
  } catch (err) {
    const first = rejected[0];
    if (first !== undefined) throw new CredentialRejected(first.identity, { cause: first.cause ?? err });
    if (err instanceof GroupError) throw err;
    throw onFailure(err);
  }
}
