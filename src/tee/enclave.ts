// The enclave's state and its call table. Everything here runs inside the enclave process; the host
// reaches it only through `handle`, whose arguments are validated before any state is touched.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { enclaveBinding, type LedgerDomain, leaveDigest } from "../ledger/digests.js";
import { BOUNDARY_VERSION, EnclaveCallError } from "./boundary.js";
import {
  decodeKeys,
  type EnclaveKeys,
  encodeKeys,
  generateKeys,
  IDENTITY_SEAL_LABEL,
  type PublicIdentity,
  publicIdentity,
  signDigest,
} from "./identity.js";
import { type EnclaveIdentity, REPORT_DATA_BYTES, type TeePlatform } from "./platform.js";
import { SealingError, seal, unseal } from "./sealing.js";
import { expectAddress, expectInteger, expectObject, expectOnlyKeys, expectOptionalHex } from "./validate.js";

/** A sealed identity is a few hundred bytes; anything much larger is not one. */
const MAX_SEALED_IDENTITY_BYTES = 4096;
const MAX_CHAIN_ID = 2 ** 48;

/** What the enclave was built with; it is inside the measured bundle, so changing it changes the measurement. */
export type EnclaveConfig = { app: string; platform: string; signerMeasurement: Hex; version: string };

type Session = { keys: EnclaveKeys; identity: PublicIdentity; domain: LedgerDomain; sealedIdentity: Hex };

export type InitResult = PublicIdentity & {
  sealedIdentity: Hex;
  /** Why a new identity was made instead of unsealing one, if one was made. */
  created: "first-start" | "measurement-changed" | undefined;
};

export class Enclave {
  private session: Session | undefined;

  constructor(
    private readonly platform: TeePlatform,
    private readonly measured: EnclaveIdentity,
    private readonly config: EnclaveConfig,
  ) {}

  async handle(call: string, args: unknown): Promise<unknown> {
    switch (call) {
      case "status":
        return this.status();
      case "init":
        return this.init(args);
      case "quote":
        return this.quote();
      case "signLeave":
        return this.signLeave();
      default:
        throw new EnclaveCallError("unknown_call", `unknown call ${JSON.stringify(call).slice(0, 64)}`);
    }
  }

  private status() {
    return {
      boundaryVersion: BOUNDARY_VERSION,
      platform: this.platform.name,
      app: this.config.app,
      measurement: bytesToHex(this.measured.measurement),
      signerMeasurement: bytesToHex(this.measured.signerMeasurement),
      address: this.session?.identity.address,
    };
  }

  /**
   * Unseals the identity the host kept, or makes one. A blob sealed by another measurement (the
   * enclave was rebuilt) yields a new identity that must register again; a damaged blob is refused.
   */
  private async init(raw: unknown): Promise<InitResult> {
    const args = expectObject(raw, "init arguments");
    expectOnlyKeys(args, ["chainId", "contract", "sealedIdentity"], "init arguments");
    const domain: LedgerDomain = {
      chainId: expectInteger(args.chainId, "chainId", { min: 1, max: MAX_CHAIN_ID }),
      contract: expectAddress(args.contract, "contract"),
    };
    const sealed = expectOptionalHex(args.sealedIdentity, "sealedIdentity", {
      max: MAX_SEALED_IDENTITY_BYTES,
    });
    if (this.session) {
      // A host that retries gets the same answer; a host that changes the ledger domain is refused.
      const same =
        this.session.domain.chainId === domain.chainId &&
        this.session.domain.contract.toLowerCase() === domain.contract.toLowerCase();
      if (!same)
        throw new EnclaveCallError("already_initialized", "the enclave already serves another ledger");
      return { ...this.session.identity, sealedIdentity: this.session.sealedIdentity, created: undefined };
    }

    let keys: EnclaveKeys | undefined;
    let created: InitResult["created"];
    if (sealed) {
      try {
        keys = decodeKeys(
          await unseal(this.platform, this.measured, hexToBytes(sealed), { label: IDENTITY_SEAL_LABEL }),
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
    const blob = await seal(this.platform, this.measured, encodeKeys(keys), { label: IDENTITY_SEAL_LABEL });
    const identity = publicIdentity(keys);
    const sealedIdentity = bytesToHex(blob);
    this.session = { keys, identity, domain, sealedIdentity };
    return { ...identity, sealedIdentity, created };
  }

  private requireSession(): Session {
    if (!this.session) throw new EnclaveCallError("not_initialized", "call init first");
    return this.session;
  }

  /** Evidence whose report data binds this enclave's keys to the chain and contract it serves. */
  private async quote() {
    const { identity, domain } = this.requireSession();
    const reportData = new Uint8Array(REPORT_DATA_BYTES);
    reportData.set(hexToBytes(enclaveBinding(domain, identity.address, identity.hpkePublicKey)));
    const evidence = await this.platform.quote(reportData, this.measured);
    return {
      evidence: bytesToHex(evidence),
      reportData: bytesToHex(reportData),
      platform: this.platform.name,
    };
  }

  private async signLeave() {
    const { keys, domain } = this.requireSession();
    return { signature: await signDigest(keys, leaveDigest(domain)) };
  }
}
