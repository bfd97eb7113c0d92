// The enclave's identity: made or unsealed by `init` for one chain and contract, attested by
// `quote`, and used to sign its own leave.
import { bytesToHex, hexToBytes } from "viem";
import type { InitResult } from "../../boundary/call-results.js";
import { BOUNDARY_VERSION, EnclaveCallError } from "../../boundary/frames.js";
import { enclaveBinding, type LedgerDomain, leaveDigest } from "../../protocol/digests.js";
import { initialLedgerApp } from "../confidential-ledger.js";
import { appIdentity, type CallHandlers, type EnclaveContext, requireSession } from "../context.js";
import { INITIAL_GROUP_STATE } from "../group-member.js";
import { EMPTY_HISTORY } from "../history.js";
import {
  decodeKeys,
  type EnclaveKeys,
  encodeKeys,
  generateKeys,
  IDENTITY_SEAL_LABEL,
  publicIdentity,
  signDigest,
} from "../identity.js";
import { REPORT_DATA_BYTES } from "../platform.js";
import { SealingError, seal, unseal } from "../sealing.js";

export function identityCalls(
  context: EnclaveContext,
): Pick<CallHandlers, "status" | "init" | "quote" | "signLeave"> {
  const { platform, measured, config } = context;
  return {
    status: () => ({
      boundaryVersion: BOUNDARY_VERSION,
      platform: platform.name,
      app: { ...appIdentity(context.app, config), id: context.appId },
      measurement: bytesToHex(measured.measurement),
      signerMeasurement: bytesToHex(measured.signerMeasurement),
      release: config.version,
      address: context.session?.identity.address,
    }),

    /**
     * Unseals the identity the host kept, or makes one. A blob sealed by another measurement (the
     * enclave was rebuilt) yields a new identity that must register again; a damaged blob is refused.
     * On a platform whose sealing lasts for the process only (TDX, SEV-SNP), no blob the host holds
     * can be one this process sealed: a new identity, which rejoins the group as a new member.
     */
    init: async ({ chainId, contract, sealedIdentity: sealed }) => {
      const domain: LedgerDomain = { chainId, contract };
      const session = context.session;
      if (session) {
        // A host that retries gets the same answer; a host that changes the ledger domain is refused.
        const same =
          session.domain.chainId === domain.chainId &&
          session.domain.contract.toLowerCase() === domain.contract.toLowerCase();
        if (!same)
          throw new EnclaveCallError("already_initialized", "the enclave already serves another ledger");
        return { ...session.identity, sealedIdentity: session.sealedIdentity, created: undefined };
      }
      let keys: EnclaveKeys | undefined;
      let created: InitResult["created"];
      if (sealed && platform.sealing === "process") {
        created = "platform-cannot-seal";
      } else if (sealed) {
        try {
          keys = decodeKeys(
            await unseal(platform, measured, hexToBytes(sealed), { label: IDENTITY_SEAL_LABEL }),
          );
        } catch (error) {
          if (!(error instanceof SealingError))
            throw new EnclaveCallError("sealed_identity_invalid", "sealed identity is damaged");
          if (error.code !== "other-measurement")
            throw new EnclaveCallError("sealed_identity_invalid", error.reason);
          created = "measurement-changed";
        }
      } else {
        created = "first-start";
      }
      keys ??= generateKeys();
      const blob = await seal(platform, measured, encodeKeys(keys), { label: IDENTITY_SEAL_LABEL });
      const identity = publicIdentity(keys);
      const sealedIdentity = bytesToHex(blob);
      context.session = {
        keys,
        identity,
        domain,
        sealedIdentity,
        cursor: undefined,
        history: EMPTY_HISTORY,
        group: INITIAL_GROUP_STATE,
        ledger: initialLedgerApp(context.app),
        diverged: undefined,
      };
      return { ...identity, sealedIdentity, created };
    },

    /** Evidence whose report data binds this enclave's keys and app to the chain and contract it serves. */
    quote: async () => {
      const { identity, domain } = requireSession(context);
      const reportData = new Uint8Array(REPORT_DATA_BYTES);
      reportData.set(
        hexToBytes(enclaveBinding(domain, identity.address, identity.hpkePublicKey, context.appId)),
      );
      const evidence = await platform.quote(reportData, measured);
      return {
        evidence: bytesToHex(evidence),
        reportData: bytesToHex(reportData),
        platform: platform.name,
        app: context.appId,
      };
    },

    /**
     * Signs a leave for the record nonce the host read on chain. No floor as for key packages:
     * leaving is final, and the host can have its enclave sign a leave whenever it likes anyway.
     */
    signLeave: async ({ nonce }) => {
      const { keys, domain } = requireSession(context);
      return { signature: await signDigest(keys, leaveDigest(domain, BigInt(nonce))) };
    },
  };
}
