// The enclave's view of the contract's policy and enclave registry, built from the events the
// host feeds in chain order. Credentials of group members are checked against it.
import { decodeAbiParameters, type Hex, parseAbiParameters, recoverAddress, toHex } from "viem";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { enclaveBinding, type LedgerDomain, reportSigningHash } from "../protocol/digests.js";

export type EnclaveRecord = {
  state: "active" | "revoked" | "left";
  measurement: Hex;
  hpkePublicKey: Hex;
  report: Hex;
  reportSignature: Hex;
  /** Order of registration (0 = first): the first active enclave creates the group. */
  order: number;
  /** The latest key package it published, and the MLS signature key inside it. */
  keyPackage?: Hex;
  mlsSignatureKeys: Hex[];
};

export type RegistryView = {
  trustedSigners: Hex[];
  allowedMeasurements: Hex[];
  debugAllowed: boolean;
  enclaves: Record<string, EnclaveRecord>;
};

export const EMPTY_REGISTRY: RegistryView = {
  trustedSigners: [],
  allowedMeasurements: [],
  debugAllowed: false,
  enclaves: {},
};

const REPORT_ABI = parseAbiParameters(
  "(uint8 platform, bytes32 measurement, bytes32 signerMeasurement, bool debug, uint8 tcbStatus, bytes32 reportData, uint64 issuedAt)",
);

function toggle(list: Hex[], item: Hex, on: boolean): Hex[] {
  const lower = item.toLowerCase() as Hex;
  const rest = list.filter((x) => x !== lower);
  return on ? [...rest, lower] : rest;
}

/** Applies a policy or registry event; other events leave the view as it is. */
export function updateRegistry(
  view: RegistryView,
  event: LedgerEvent,
  mlsSignatureKeyOf: (keyPackage: Hex) => Hex | undefined,
): RegistryView {
  switch (event.kind) {
    case "TrustedSignerSet":
      return { ...view, trustedSigners: toggle(view.trustedSigners, event.signer, event.trusted) };
    case "MeasurementAllowed":
      return {
        ...view,
        allowedMeasurements: toggle(view.allowedMeasurements, event.measurement, event.allowed),
      };
    case "DebugAllowedSet":
      return { ...view, debugAllowed: event.allowed };
    case "EnclaveRegistered":
      return {
        ...view,
        enclaves: {
          ...view.enclaves,
          [event.enclave.toLowerCase()]: {
            state: "active",
            measurement: event.measurement,
            hpkePublicKey: event.hpkePublicKey,
            report: event.report,
            reportSignature: event.reportSignature,
            order: Object.keys(view.enclaves).length,
            mlsSignatureKeys: [],
          },
        },
      };
    case "EnclaveRevoked":
    case "EnclaveLeft": {
      const record = view.enclaves[event.enclave.toLowerCase()];
      if (!record) return view;
      const state = event.kind === "EnclaveRevoked" ? "revoked" : "left";
      return { ...view, enclaves: { ...view.enclaves, [event.enclave.toLowerCase()]: { ...record, state } } };
    }
    case "KeyPackagePublished": {
      const record = view.enclaves[event.enclave.toLowerCase()];
      const key = mlsSignatureKeyOf(event.keyPackage);
      if (!record || !key) return view;
      return {
        ...view,
        enclaves: {
          ...view.enclaves,
          [event.enclave.toLowerCase()]: {
            ...record,
            keyPackage: event.keyPackage,
            mlsSignatureKeys: [...record.mlsSignatureKeys, key.toLowerCase() as Hex],
          },
        },
      };
    }
    default:
      return view;
  }
}

export class CredentialError extends Error {
  override name = "CredentialError";
}

/**
 * A member credential is the enclave's address. It is accepted only if that enclave is active, its
 * attestation report is signed by a trusted service, names an allow-listed measurement (and no
 * debug enclave unless the owner allows it), binds the enclave's keys to this ledger, and the MLS
 * signature key is one the enclave itself published on chain.
 */
export async function checkCredential(
  view: RegistryView,
  domain: LedgerDomain,
  identity: Uint8Array,
  signaturePublicKey: Uint8Array,
): Promise<void> {
  if (identity.length !== 20) throw new CredentialError("credential identity is not an enclave address");
  const address = toHex(identity).toLowerCase() as Hex;
  const record = view.enclaves[address];
  if (!record) throw new CredentialError(`enclave ${address} is not registered`);
  if (record.state !== "active") throw new CredentialError(`enclave ${address} is ${record.state}`);
  if (!record.mlsSignatureKeys.includes(toHex(signaturePublicKey).toLowerCase() as Hex)) {
    throw new CredentialError(`enclave ${address} did not publish this MLS signature key`);
  }
  const signer = (
    await recoverAddress({ hash: reportSigningHash(record.report), signature: record.reportSignature })
  ).toLowerCase();
  if (!view.trustedSigners.includes(signer as Hex))
    throw new CredentialError(`report signer ${signer} is not trusted`);
  const [report] = decodeAbiParameters(REPORT_ABI, record.report);
  if (!view.allowedMeasurements.includes(report.measurement.toLowerCase() as Hex)) {
    throw new CredentialError(`measurement ${report.measurement} is not allow-listed`);
  }
  if ((report.debug || report.platform === 0) && !view.debugAllowed)
    throw new CredentialError("debug enclaves are not allowed");
  if (report.reportData !== enclaveBinding(domain, address, record.hpkePublicKey)) {
    throw new CredentialError("report does not bind this enclave to this ledger");
  }
}

export function enclaveAddressOf(identity: Uint8Array): Hex {
  return toHex(identity).toLowerCase() as Hex;
}
